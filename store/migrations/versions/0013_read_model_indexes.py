"""What members owe as rows of its own (`owed_actions`), indexes that give the decisions list a
page in order, and one that finds the sittings convened; the decisions read models are rebuilt.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None

_DECISIONS_INDEXES = {
    "ix_decisions_last_position": ["last_position"],
    "ix_decisions_state_last_position": ["state", "last_position"],
    "ix_decisions_area_last_position": ["area", "last_position"],
}


def upgrade() -> None:
    op.create_table(
        "owed_actions",
        sa.Column("decision_id", sa.String(63), nullable=False),
        sa.Column("member", sa.String(200), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("place", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.String(32), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("deadline", sa.String(40), nullable=True),
    )
    op.create_index("ix_owed_actions_decision_id", "owed_actions", ["decision_id"])
    op.create_index("ix_owed_actions_member", "owed_actions", ["member"])
    sittings = sa.text("type = 'SittingConvened'")
    op.create_index(
        "ix_events_sittings_convened",
        "events",
        ["position"],
        sqlite_where=sittings,
        postgresql_where=sittings,
    )
    op.drop_index("ix_decisions_state", table_name="decisions")
    for name, columns in _DECISIONS_INDEXES.items():
        op.create_index(name, "decisions", columns)
    # The projector fills the new table from the domain's fold: emptied, and its position
    # forgotten, the decisions read models are replayed from the first event (as
    # `ProjectionRunner.rebuild` does) by the next projector to run.
    for table in ("decision_states", "decisions", "pending_actions"):
        op.execute(sa.text(f"DELETE FROM {table}"))
    op.execute(sa.text("DELETE FROM projection_failures WHERE name = 'decisions'"))
    op.execute(sa.text("DELETE FROM projection_positions WHERE name = 'decisions'"))


def downgrade() -> None:
    op.drop_index("ix_events_sittings_convened", table_name="events")
    for name in _DECISIONS_INDEXES:
        op.drop_index(name, table_name="decisions")
    op.create_index("ix_decisions_state", "decisions", ["state"])
    op.drop_index("ix_owed_actions_member", table_name="owed_actions")
    op.drop_index("ix_owed_actions_decision_id", table_name="owed_actions")
    op.drop_table("owed_actions")
