"""Each event records the format of its hash: 1 for the events already there, 2 (RFC 8785) from now on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Existing events keep their hashes (format 1: Python's sorted, compact JSON), so the chain, and any head
hash recorded from it elsewhere, stays valid; the store hashes every new event in format 2 and links it
to the last format-1 hash. Rewriting the old hashes would have blessed whatever the database held at the
moment of the upgrade, so they are kept and checked in their own format.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `events.hash_format`, 1 for every event already in the log."""
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column("hash_format", sa.SmallInteger, nullable=False, server_default=sa.text("1"))
        )


def downgrade() -> None:
    """Drop `events.hash_format` (format-2 events then no longer verify)."""
    with op.batch_alter_table("events") as batch:
        batch.drop_column("hash_format")
