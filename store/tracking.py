"""Where each read model is in the log: its position, its next events, the decisions it parked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import InvalidHistory
from store.backends import LogBackend
from store.engine import insert_unless_present
from store.hashing import format_instant, parse_instant
from store.records import BodyRow, StoredEvent, stored_event
from store.schema import BODY_COLUMNS, events, log_head, projection_failures, projection_positions
from store.upcasting import Upcasters


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


ApplyBatch = Callable[[AsyncConnection, Sequence[StoredEvent]], Awaitable[None]]
"""A read model's apply: consecutive events of its decisions, in the store's transaction."""


class ProjectionPositions:
    """Each read model's place in the log, the events it applies from there, and the decisions
    it parked."""

    def __init__(self, backend: LogBackend, upcasters: Upcasters) -> None:
        self._backend = backend
        self._upcasters = upcasters

    async def position(self, name: str) -> int:
        """The last log position the projection `name` has applied (0 before its first run)."""
        rows = await self._backend.rows(
            select(projection_positions.c.position).where(projection_positions.c.name == name)
        )
        return int(rows[0].position) if rows else 0

    async def lags(self) -> dict[str, int]:
        """How many events each projection with a recorded position has still to apply: in one
        read, so that a follower with nothing to do asks nothing more."""
        head = select(log_head.c.position).scalar_subquery()
        rows = await self._backend.rows(
            select(
                projection_positions.c.name, (head - projection_positions.c.position).label("lag")
            )
        )
        return {str(row.name): int(row.lag) for row in rows}

    async def apply(self, name: str, apply: ApplyBatch, limit: int) -> int:
        """Apply the projection's next `limit` events (less its parked decisions') with `apply`
        and move its position past them, in one transaction; the number applied.

        UnappliedEvents, and nothing applied, when one of them cannot be read or applied.
        """
        async with self._backend.writing() as connection:
            after = await locked_position(connection, name)
            rows = await next_rows(connection, name, after, limit)
            if not rows:
                return 0
            try:
                await apply(connection, [stored_event(row, self._upcasters) for _, row in rows])
            except InvalidHistory as error:
                unapplied = [(row.position, decision_id) for decision_id, row in rows]
                raise UnappliedEvents(unapplied, str(error)) from error
            await advance(connection, name, rows[-1][1].position)
        return len(rows)

    async def advance(
        self, name: str, after: int, to: int, inserts: Sequence[tuple[Table, list[dict[str, Any]]]]
    ) -> bool:
        """Insert the rows a Keeper made for the log up to `to` and move its position there from
        `after`, in one transaction; False, and nothing written, if it is no longer at `after`
        (another runner moved it)."""
        return await self._backend.advance_projection(name, after, to, inserts)

    async def park(self, name: str, failure: ProjectionFailure) -> None:
        """Record that the projection could not apply an event: it skips that decision's
        events from then on, until it is rebuilt."""
        async with self._backend.writing() as connection:
            await park(connection, name, failure)

    async def failures(self, name: str) -> list[ProjectionFailure]:
        """The events the projection could not apply (one per parked decision), in log order."""
        async with self._backend.reading() as connection:
            return await failures(connection, name)

    async def reset(self, name: str, tables: Sequence[Table]) -> None:
        """Empty the projection's tables, forget its failures and set its position to 0."""
        async with self._backend.writing() as connection:
            await reset(connection, name, tables)
