"""The credential epoch: raised whenever a credential is revoked or a user changed (kizuna.access).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the one-row credential_epoch table at epoch 0."""
    table = op.create_table(
        "credential_epoch",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "epoch": 0}])


def downgrade() -> None:
    """Drop the credential_epoch table."""
    op.drop_table("credential_epoch")
