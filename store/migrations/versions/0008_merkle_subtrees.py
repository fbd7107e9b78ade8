"""The log's Merkle tree: the hash of each complete subtree (RFC 6962 hashing).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "merkle_subtrees",
        sa.Column("level", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("idx", _POSITION, nullable=False, autoincrement=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_merkle_subtrees"),
    )


def downgrade() -> None:
    op.drop_table("merkle_subtrees")
