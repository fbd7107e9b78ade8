"""The archive of closed Temporal workflow histories, kept for replay audits beyond retention."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import Conflict, InvalidInput
from store.engine import insert_unless_present
from store.hashing import format_instant, parse_instant
from store.records import ArchivedHistory
from store.schema import workflow_histories


def count_history_events(history_json: str) -> int:
    """The number of events in a Temporal history exported as JSON (`{"events": [...]}`)."""
    try:
        history = orjson.loads(history_json)
    except orjson.JSONDecodeError as error:
        raise InvalidInput("history_json", f"not JSON: {error}") from None
    if not isinstance(history, dict) or not isinstance(history.get("events"), list):
        raise InvalidInput("history_json", 'a Temporal history is an object with an "events" list')
    return len(history["events"])


async def archive_history(
    engine: AsyncEngine, decision_id: str, workflow_id: str, run_id: str, history_json: str
) -> ArchivedHistory:
    """Store the run's history unless it is stored; Conflict if stored with other content."""
    row = {
        "decision_id": decision_id,
        "workflow_id": workflow_id,
        "run_id": run_id,
        "history_json": history_json,
        "archived_at": format_instant(datetime.now(UTC)),
        "event_count": count_history_events(history_json),
    }
    async with engine.begin() as connection:
        await connection.execute(
            insert_unless_present(engine.dialect.name, workflow_histories, ["run_id"], row)
        )
        stored = (
            await connection.execute(
                select(workflow_histories).where(workflow_histories.c.run_id == run_id)
            )
        ).one()
    archived = _archived(stored)
    if (archived.decision_id, archived.workflow_id, archived.history_json) != (
        decision_id,
        workflow_id,
        history_json,
    ):
        raise Conflict(f"run {run_id} is already archived with a different history")
    return archived


async def histories(engine: AsyncEngine, decision_id: str) -> list[ArchivedHistory]:
    """The decision's archived runs in the order they were archived."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(workflow_histories)
            .where(workflow_histories.c.decision_id == decision_id)
            .order_by(workflow_histories.c.id)
        )
        return [_archived(row) for row in rows]


def _archived(row: Row[Any]) -> ArchivedHistory:
    return ArchivedHistory(
        decision_id=row.decision_id,
        workflow_id=row.workflow_id,
        run_id=row.run_id,
        history_json=row.history_json,
        archived_at=parse_instant(row.archived_at),
        event_count=row.event_count,
    )
