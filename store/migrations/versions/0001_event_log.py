"""The event log, its head, the archive of workflow histories and projection positions.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_INSTANT = sa.String(27)
_HASH = sa.String(64)
_GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", _POSITION, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("decision_id", sa.String(63), nullable=False),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("occurred_at", _INSTANT, nullable=False),
        sa.Column("recorded_at", _INSTANT, nullable=False),
        sa.Column("stream_prev_hash", _HASH, nullable=False),
        sa.Column("prev_hash", _HASH, nullable=False),
        sa.Column("hash", _HASH, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("position", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
        sa.UniqueConstraint(
            "decision_id", "stream_version", name="uq_events_decision_id_stream_version"
        ),
    )
    op.create_index("ix_events_decision_id_occurred_at", "events", ["decision_id", "occurred_at"])

    log_head = op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("position", _POSITION, nullable=False),
        sa.Column("hash", _HASH, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_log_head"),
        sa.CheckConstraint("id = 1", name="ck_log_head_single_row"),
    )
    op.bulk_insert(log_head, [{"id": 1, "position": 0, "hash": _GENESIS}])

    op.create_table(
        "workflow_histories",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("decision_id", sa.String(63), nullable=False),
        sa.Column("workflow_id", sa.String(255), nullable=False),
        sa.Column("run_id", sa.String(255), nullable=False),
        sa.Column("history_json", sa.Text(), nullable=False),
        sa.Column("archived_at", _INSTANT, nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_histories"),
        sa.UniqueConstraint("run_id", name="uq_workflow_histories_run_id"),
    )
    op.create_index("ix_workflow_histories_decision_id", "workflow_histories", ["decision_id"])

    op.create_table(
        "projection_positions",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", _POSITION, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_projection_positions"),
    )


def downgrade() -> None:
    op.drop_table("projection_positions")
    op.drop_index("ix_workflow_histories_decision_id", table_name="workflow_histories")
    op.drop_table("workflow_histories")
    op.drop_table("log_head")
    op.drop_index("ix_events_decision_id_occurred_at", table_name="events")
    op.drop_table("events")
