"""Read models of decisions: their folded states, an overview row each, pending answers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decision_states",
        sa.Column("decision_id", sa.String(63), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name="pk_decision_states"),
    )
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(63), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("area", sa.String(100), nullable=False),
        sa.Column("state", sa.String(40), nullable=False),
        sa.Column("proposer", sa.String(200), nullable=False),
        sa.Column("open_round", sa.Integer(), nullable=True),
        sa.Column("round_deadline", sa.String(27), nullable=True),
        sa.Column("open_issues", sa.Integer(), nullable=False),
        sa.Column("last_position", _POSITION, nullable=False),
        sa.Column("last_event_type", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_state", "decisions", ["state"])
    op.create_table(
        "pending_actions",
        sa.Column("decision_id", sa.String(63), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", "round", "member", name="pk_pending_actions"),
    )
    op.create_index("ix_pending_actions_member", "pending_actions", ["member"])


def downgrade() -> None:
    op.drop_index("ix_pending_actions_member", table_name="pending_actions")
    op.drop_table("pending_actions")
    op.drop_index("ix_decisions_state", table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("decision_states")
