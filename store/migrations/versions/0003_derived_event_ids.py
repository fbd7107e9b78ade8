"""Event ids are derived from (decision id, stream version): their own unique index goes.

Every id the store has written is `uuid5(namespace, "<decision>/<version>")`, and
(decision_id, stream_version) is unique, so the ids are unique without an index of their own.
That index cost each append a random page write per event (the ids are random), about half of
SQLite's commit time (docs/benchmarks.md). The upgrade first checks that every stored id is the
derived one and refuses, naming the first row that is not, before it changes anything.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from domain.errors import InvalidHistory
from store.records import event_id_for

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    rows = op.get_bind().execute(
        sa.text("SELECT position, event_id, decision_id, stream_version FROM events")
    )
    for position, event_id, decision_id, stream_version in rows:
        expected = event_id_for(decision_id, stream_version)
        if event_id != expected:
            raise InvalidHistory(
                f"the event at position {position} has id {event_id}, not {expected}, the id "
                f"derived from {decision_id} v{stream_version}: the unique index on event ids "
                "is still needed; this log cannot be upgraded"
            )
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint("uq_events_event_id", type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.create_unique_constraint("uq_events_event_id", ["event_id"])
