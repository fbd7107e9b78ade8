"""The event store: optimistic, idempotent, gap-free appends to the hash-chained log, and reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.errors import InvalidInput, Unavailable
from store import archive
from store.appending import stored_event
from store.backends import LogPages, log_backend
from store.engine import WRITE_OPTION, create_store_engine, parse_database_url, sqlite_path
from store.hashing import format_instant
from store.migrate import UPGRADE_COMMAND
from store.migrate import check_schema as check_schema_revision
from store.records import ArchivedHistory, NewEvent, StoredEvent
from store.schema import events, log_head
from store.upcasting import Upcasters, upcasters

DEFAULT_PAGE_SIZE: Final = 1_000

EVENT_COLUMNS: Final = (events.c.position, events.c.prev_hash, events.c.hash, events.c.body)
"""The columns `store.appending.stored_event` builds a StoredEvent from."""


class EventStore:
    """The append-only log of every decision's events, on SQLite or PostgreSQL."""

    def __init__(self, engine: AsyncEngine, *, upcasters: Upcasters = upcasters) -> None:
        self.engine = engine
        self.upcasters = upcasters
        self._backend = log_backend(engine)
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    async def close(self) -> None:
        """Stop the writer and close every pooled connection."""
        await self._backend.close()
        await self.engine.dispose()

    async def append(
        self, decision_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        """Append `events` to the decision's stream at `expected_version`, all or nothing.

        Conflict if the stream is not at `expected_version` (the message says which stored
        field differs when the versions hold other content); a retry of an already stored
        batch, found by its (decision, versions) and compared field by field, returns the
        stored records and writes nothing.
        """
        _check_batch(decision_id, expected_version, events)
        if not events:
            return []
        return await self._backend.append(decision_id, expected_version, events, self.upcasters)

    async def stream(self, decision_id: str, from_version: int = 1) -> list[StoredEvent]:
        """The decision's events from `from_version` on, in stream order (empty if none)."""
        return await self._select(
            select(*EVENT_COLUMNS)
            .where(events.c.decision_id == decision_id, events.c.stream_version >= from_version)
            .order_by(events.c.stream_version)
        )

    async def stream_version(self, decision_id: str) -> int:
        """The decision's last stream version; 0 when it has no events."""
        with _unavailable_on_failure():
            async with self.engine.connect() as connection:
                version = await connection.scalar(
                    select(func.coalesce(func.max(events.c.stream_version), 0)).where(
                        events.c.decision_id == decision_id
                    )
                )
        return int(version or 0)

    async def events_until(self, decision_id: str, instant: datetime) -> list[StoredEvent]:
        """The decision's events that occurred at or before `instant`, in stream order."""
        try:
            until = format_instant(instant)
        except ValueError:
            raise InvalidInput("instant", "must be timezone-aware") from None
        return await self._select(
            select(*EVENT_COLUMNS)
            .where(events.c.decision_id == decision_id, events.c.occurred_at <= until)
            .order_by(events.c.stream_version)
        )

    async def read_log(
        self, from_position: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> AsyncIterator[StoredEvent]:
        """Every event from `from_position` on, in log order, fetched a page at a time."""
        if page_size < 1:
            raise InvalidInput("page_size", "must be at least 1")
        after = from_position - 1
        while True:
            page = await self._select(
                select(*EVENT_COLUMNS)
                .where(events.c.position > after)
                .order_by(events.c.position)
                .limit(page_size)
            )
            for record in page:
                yield record
            if len(page) < page_size:
                return
            after = page[-1].position

    async def head(self) -> tuple[int, str]:
        """The last position of the log and its hash: (0, 64 zeros) when the log is empty."""
        with _unavailable_on_failure():
            async with self.engine.connect() as connection:
                row = (await connection.execute(select(log_head.c.position, log_head.c.hash))).one()
        return int(row.position), str(row.hash)

    def snapshot(self) -> AbstractAsyncContextManager[LogPages]:
        """A consistent read-only view of the whole log's raw rows, for verification."""
        return self._backend.snapshot()

    def transaction(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A SQLAlchemy writing transaction (read models); on SQLite it takes the write lock."""
        return self._writer.begin()

    async def archive_history(
        self, decision_id: str, workflow_id: str, run_id: str, history_json: str
    ) -> ArchivedHistory:
        """Keep a closed run's Temporal history; archiving the same run again changes nothing."""
        with _unavailable_on_failure():
            return await archive.archive_history(
                self.engine, decision_id, workflow_id, run_id, history_json
            )

    async def histories(self, decision_id: str) -> list[ArchivedHistory]:
        """The archived histories of a decision's workflow runs, oldest first."""
        with _unavailable_on_failure():
            return await archive.histories(self.engine, decision_id)

    async def archived_runs(self, run_ids: Collection[str]) -> set[str]:
        """Which of the given workflow runs have their history archived."""
        with _unavailable_on_failure():
            return await archive.archived_runs(self.engine, run_ids)

    async def _select(self, query: Select[Any]) -> list[StoredEvent]:
        with _unavailable_on_failure():
            async with self.engine.connect() as connection:
                rows = (await connection.execute(query)).all()
        return [stored_event(row, self.upcasters) for row in rows]


async def open_store(url: str, *, check_schema: bool = True) -> EventStore:
    """An EventStore on `url`; Unavailable if its schema is older than the code (or missing)."""
    parsed = parse_database_url(url)
    path = sqlite_path(parsed)
    if check_schema and path is not None and not path.exists():
        raise Unavailable(f"no event store at {path}: run `{UPGRADE_COMMAND}` to create it")
    engine = create_store_engine(parsed)
    if check_schema:
        try:
            with _unavailable_on_failure():
                await check_schema_revision(engine)
        except BaseException:
            await engine.dispose()
            raise
    return EventStore(engine)


def _check_batch(decision_id: str, expected_version: int, batch: Sequence[NewEvent]) -> None:
    if expected_version < 0:
        raise InvalidInput("expected_version", "must be 0 or more")
    for offset, new in enumerate(batch, start=1):
        if new.decision_id != decision_id:
            raise InvalidInput(
                "decision_id",
                f"event {new.event_id} belongs to {new.decision_id}, not {decision_id}",
            )
        if new.stream_version != expected_version + offset:
            raise InvalidInput(
                "stream_version",
                f"event {new.event_id} has version {new.stream_version}; the batch must run "
                f"{expected_version + 1}..{expected_version + len(batch)} without gaps",
            )


@contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """Turn lost connections, timeouts and locked databases into Unavailable."""
    try:
        yield
    except (OperationalError, InterfaceError, PoolTimeout, OSError) as error:
        raise Unavailable(f"the event store cannot be reached: {error}") from error
