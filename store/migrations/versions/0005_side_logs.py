"""Side logs beside the event log: refused commands and access tokens issued or revoked.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INSTANT = sa.String(27)
_HASH = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "refusals",
        sa.Column("position", _POSITION, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", _INSTANT, nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("decision_id", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("prev_hash", _HASH, nullable=False),
        sa.Column("hash", _HASH, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_refusals"),
    )
    op.create_index("ix_refusals_decision_id_position", "refusals", ["decision_id", "position"])

    op.create_table(
        "access_events",
        sa.Column("position", _POSITION, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", _INSTANT, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("token_id", sa.String(100), nullable=False),
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("expires_at", _INSTANT, nullable=True),
        sa.Column("prev_hash", _HASH, nullable=False),
        sa.Column("hash", _HASH, nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_access_events"),
    )
    op.create_index("ix_access_events_token_id", "access_events", ["token_id"])

    op.create_table(
        "side_log_heads",
        sa.Column("log", sa.String(40), nullable=False),
        sa.Column("position", _POSITION, nullable=False),
        sa.Column("hash", _HASH, nullable=False),
        sa.PrimaryKeyConstraint("log", name="pk_side_log_heads"),
    )


def downgrade() -> None:
    op.drop_table("side_log_heads")
    op.drop_index("ix_access_events_token_id", table_name="access_events")
    op.drop_table("access_events")
    op.drop_index("ix_refusals_decision_id_position", table_name="refusals")
    op.drop_table("refusals")
