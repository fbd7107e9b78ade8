"""Read models park a decision whose event they cannot apply, and say which and why.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "projection_failures",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("decision_id", sa.String(63), nullable=False),
        sa.Column("position", _POSITION, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.String(27), nullable=False),
        sa.PrimaryKeyConstraint("name", "decision_id", name="pk_projection_failures"),
    )


def downgrade() -> None:
    op.drop_table("projection_failures")
