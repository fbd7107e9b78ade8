"""Witnesses' cosignatures of the published checkpoints: one per checkpoint size and witness
key, the note signature line as the witness returned it and the time it cosigned at.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "checkpoint_cosignatures",
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("witness", sa.String(300), primary_key=True),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("cosigned_at", sa.String(27), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("checkpoint_cosignatures")
