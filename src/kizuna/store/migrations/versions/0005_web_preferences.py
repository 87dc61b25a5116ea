"""User preferences of the web console: language and time zone, one row per user (kizuna.access).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the user_preferences table."""
    op.create_table(
        "user_preferences",
        sa.Column("user_id", sa.String(80), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("time_zone", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    """Drop the user_preferences table."""
    op.drop_table("user_preferences")
