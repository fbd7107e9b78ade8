"""Signed snapshots of decisions' states, for point-in-time views of long decisions.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "state_snapshots",
        sa.Column("decision_id", sa.String(63), nullable=False),
        sa.Column("stream_version", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("occurred_at", sa.String(27), nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", "stream_version", name="pk_state_snapshots"),
    )


def downgrade() -> None:
    op.drop_table("state_snapshots")
