"""Where each read model is in the log: its position, its next events, the decisions it parked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import InvalidHistory
from store.engine import insert_unless_present
from store.hashing import format_instant, parse_instant
from store.schema import BODY_COLUMNS, BodyRow, events, projection_failures, projection_positions


class ProjectionFailure(BaseModel):
    """An event a read model could not apply: it parked the event's decision there."""

    model_config = ConfigDict(frozen=True)

    decision_id: str
    position: int
    reason: str
    recorded_at: datetime


class UnappliedEvents(InvalidHistory):
    """A batch a read model could not apply, nothing of it applied: which events, and why."""

    def __init__(self, events: Sequence[tuple[int, str]], reason: str) -> None:
        super().__init__(reason)
        self.events = list(events)
        """(position, decision id) of each event of the batch."""
        self.reason = reason


async def locked_position(connection: AsyncConnection, name: str) -> int:
    """The projection's position, its row locked until the transaction ends (created at 0)."""
    # Locking the row makes concurrent runners of one projection take turns.
    query = (
        select(projection_positions.c.position)
        .where(projection_positions.c.name == name)
        .with_for_update()
    )
    position = await connection.scalar(query)
    if position is None:
        await connection.execute(
            insert_unless_present(
                connection.dialect.name,
                projection_positions,
                ["name"],
                {"name": name, "position": 0},
            )
        )
        position = await connection.scalar(query)
    return int(position or 0)


async def next_rows(
    connection: AsyncConnection, name: str, after: int, limit: int
) -> list[tuple[str, BodyRow]]:
    """The decision id and row of up to `limit` events after `after`, in log order, less those
    of the decisions the projection has parked."""
    parked = select(projection_failures.c.decision_id).where(projection_failures.c.name == name)
    rows = await connection.execute(
        select(events.c.decision_id, *BODY_COLUMNS)
        .where(events.c.position > after, events.c.decision_id.not_in(parked))
        .order_by(events.c.position)
        .limit(limit)
    )
    return [
        (
            row.decision_id,
            BodyRow(position=row.position, prev_hash=row.prev_hash, hash=row.hash, body=row.body),
        )
        for row in rows
    ]


async def advance(connection: AsyncConnection, name: str, position: int) -> None:
    """Record that the projection has applied the log up to `position`."""
    await connection.execute(
        update(projection_positions)
        .where(projection_positions.c.name == name)
        .values(position=position)
    )


async def park(connection: AsyncConnection, name: str, failure: ProjectionFailure) -> None:
    """Record the failure; the projection skips its decision's events from then on."""
    row = failure.model_dump() | {"name": name, "recorded_at": format_instant(failure.recorded_at)}
    await connection.execute(
        insert_unless_present(
            connection.dialect.name, projection_failures, ["name", "decision_id"], row
        )
    )


async def reset(connection: AsyncConnection, name: str, tables: Sequence[Table]) -> None:
    """Empty the projection's tables, forget the decisions it parked, and go back to 0."""
    for table in reversed(tables):
        await connection.execute(delete(table))
    await connection.execute(delete(projection_failures).where(projection_failures.c.name == name))
    await locked_position(connection, name)
    await advance(connection, name, 0)


async def failures(connection: AsyncConnection, name: str) -> list[ProjectionFailure]:
    """The events the projection could not apply, in log order."""
    rows = await connection.execute(
        select(projection_failures)
        .where(projection_failures.c.name == name)
        .order_by(projection_failures.c.position)
    )
    return [
        ProjectionFailure(
            decision_id=row.decision_id,
            position=row.position,
            reason=row.reason,
            recorded_at=parse_instant(row.recorded_at),
        )
        for row in rows
    ]


def failure_now(position: int, decision_id: str, reason: str) -> ProjectionFailure:
    """The failure of the event at `position`, recorded now."""
    return ProjectionFailure(
        decision_id=decision_id, position=position, reason=reason, recorded_at=datetime.now(UTC)
    )
