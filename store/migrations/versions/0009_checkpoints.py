"""The log's published checkpoints: one per tree size, its root hash and the signed note.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("position", _POSITION, primary_key=True, autoincrement=True),
        sa.Column("size", _POSITION, nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("signed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(27), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_checkpoints"),
        sa.UniqueConstraint("size", name="uq_checkpoints_size"),
    )


def downgrade() -> None:
    op.drop_table("checkpoints")
