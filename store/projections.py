"""Read models kept from the log: a runner applies new events in order, tracked per projection."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final, Protocol

import structlog
from sqlalchemy import Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import NotFound
from store.appending import stored_event
from store.engine import insert_unless_present
from store.eventstore import EVENT_COLUMNS, EventStore
from store.records import StoredEvent
from store.schema import events, projection_positions

DEFAULT_BATCH_SIZE: Final = 500


class Projection(Protocol):
    """A read model: the tables it owns and how a batch of log events changes them."""

    @property
    def name(self) -> str:
        """The key of its position in `projection_positions`; stable across releases."""
        ...

    @property
    def tables(self) -> Sequence[Table]:
        """The tables it owns, emptied on rebuild."""
        ...

    async def apply(self, connection: AsyncConnection, batch: Sequence[StoredEvent]) -> None:
        """Apply consecutive log events, in the runner's transaction."""
        ...


_log = structlog.get_logger(__name__)


class ProjectionRunner:
    """Applies the log to read models: each batch and its new position commit together, so a
    crash or a second runner never applies an event twice, and `rebuild` replays from zero."""

    def __init__(
        self,
        store: EventStore,
        projections: Sequence[Projection],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.store = store
        self.projections = {projection.name: projection for projection in projections}
        self.batch_size = batch_size

    async def position(self, name: str) -> int:
        """The last log position the projection has applied (0 before its first run)."""
        self._projection(name)
        async with self.store.engine.connect() as connection:
            position = await connection.scalar(
                select(projection_positions.c.position).where(projection_positions.c.name == name)
            )
        return int(position or 0)

    async def catch_up(self) -> int:
        """Apply every event appended since each projection's position; the number applied."""
        return sum([await self._catch_up(projection) for projection in self.projections.values()])

    async def follow(self, interval: float = 0.5) -> None:
        """Keep every projection caught up with the log until cancelled; a failed pass is logged
        and retried, so a read model lags rather than stops."""
        while True:
            try:
                await self.catch_up()
            except Exception as error:
                _log.warning("read models lag", error=str(error))
            await asyncio.sleep(interval)

    async def rebuild(self, name: str) -> int:
        """Empty the projection's tables and replay the whole log into them; the events applied."""
        projection = self._projection(name)
        async with self.store.transaction() as connection:
            for table in reversed(projection.tables):
                await connection.execute(delete(table))
            await self._locked_position(connection, name)
            await connection.execute(
                update(projection_positions)
                .where(projection_positions.c.name == name)
                .values(position=0)
            )
        return await self._catch_up(projection)

    async def _catch_up(self, projection: Projection) -> int:
        applied = 0
        while True:
            async with self.store.transaction() as connection:
                after = await self._locked_position(connection, projection.name)
                rows = await connection.execute(
                    select(*EVENT_COLUMNS)
                    .where(events.c.position > after)
                    .order_by(events.c.position)
                    .limit(self.batch_size)
                )
                batch = [stored_event(row, self.store.upcasters) for row in rows]
                if batch:
                    await projection.apply(connection, batch)
                    await connection.execute(
                        update(projection_positions)
                        .where(projection_positions.c.name == projection.name)
                        .values(position=batch[-1].position)
                    )
            applied += len(batch)
            if len(batch) < self.batch_size:
                return applied

    async def _locked_position(self, connection: AsyncConnection, name: str) -> int:
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

    def _projection(self, name: str) -> Projection:
        try:
            return self.projections[name]
        except KeyError:
            raise NotFound(f"no projection named {name!r}") from None
