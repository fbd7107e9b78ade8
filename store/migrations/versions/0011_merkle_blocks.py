"""The Merkle tree keeps the subtrees of 16 leaves and up; smaller ones are recomputed from
their entries when a proof or a tile needs them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM merkle_subtrees WHERE level < 4"))


def downgrade() -> None:
    # The earlier schema kept every subtree: the projector rebuilds the tree from the log.
    op.execute(sa.text("DELETE FROM merkle_subtrees"))
    op.execute(sa.text("DELETE FROM projection_positions WHERE name = 'merkle_tree'"))
