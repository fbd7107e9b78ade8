"""The stream versions of each accepted command's events, stored with the events.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "command_ranges",
        sa.Column("decision_id", sa.String(63), nullable=False),
        sa.Column("first_version", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("last_version", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("command_digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", "first_version", name="pk_command_ranges"),
    )


def downgrade() -> None:
    op.drop_table("command_ranges")
