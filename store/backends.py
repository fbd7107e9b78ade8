"""The log's hot paths on the drivers themselves: locked appends and raw pages, per backend.

SQLAlchemy costs a few hundred microseconds a statement on this hardware, and aiosqlite a thread
hop per statement; the append critical section and full-log verification run straight on the
drivers instead: asyncpg on PostgreSQL, and on SQLite one writer thread with its own connection
that runs a whole append in one hop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import Conflict, Unavailable
from store.appending import (
    LogRow,
    PreparedEvent,
    appended_events,
    chain_rows,
    prepare,
    stored_batch,
)
from store.engine import SQLITE_BUSY_TIMEOUT_MS, SQLITE_PRAGMAS
from store.hashing import GENESIS_HASH
from store.records import NewEvent, StoredEvent
from store.upcasting import Upcasters

LOG_COLUMNS: Final = (
    "position",
    "event_id",
    "decision_id",
    "stream_version",
    "type",
    "schema_version",
    "actor",
    "recorded_by",
    "occurred_at",
    "recorded_at",
    "stream_prev_hash",
    "prev_hash",
    "hash",
    "body",
)
"""The order of the values of a raw log row, as written and as `LogPages.pages` yields it."""

_COLUMNS: Final = ", ".join(LOG_COLUMNS)
_HEAD: Final = "SELECT position, hash FROM log_head WHERE id = 1"
_TAIL: Final = (
    "SELECT stream_version, hash FROM events WHERE decision_id = {0} "
    "ORDER BY stream_version DESC LIMIT 1"
)
_FIND: Final = (
    "SELECT position, prev_hash, hash, body FROM events WHERE decision_id = {0} "
    "AND stream_version > {1} AND stream_version <= {2} ORDER BY stream_version"
)
_PAGE: Final = (
    f"SELECT {_COLUMNS} FROM events WHERE position > {{0}} AND position <= {{2}} "
    "ORDER BY position LIMIT {1}"
)
_LINKS: Final = "SELECT prev_hash, hash FROM events WHERE position = {0}"
_PG_HEAD_MOVE: Final = "UPDATE log_head SET position = $1, hash = $2 WHERE id = 1"
_LAST_POSITION: Final = 2**63 - 1
_SQLITE_WRITE: Final = f"INSERT INTO events ({_COLUMNS}) VALUES ({', '.join('?' * 14)})"
_SQLITE_HEAD_MOVE: Final = "UPDATE log_head SET position = ?, hash = ? WHERE id = 1"

_UNREACHABLE: Final = (
    OSError,
    TimeoutError,
    sqlite3.OperationalError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)


class LogPages(Protocol):
    """The log in a read-only snapshot."""

    async def head(self) -> tuple[int, str]:
        """The recorded head: last position and its hash."""
        ...

    def pages(
        self, page_size: int, after: int = 0, until: int | None = None
    ) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """The rows after position `after` (up to `until`), in position order, as LOG_COLUMNS
        sequences, `page_size` at a time."""
        ...

    async def links(self, position: int) -> tuple[str, str] | None:
        """The (prev_hash, hash) of the row at `position`; None when there is none."""
        ...


class LogBackend(Protocol):
    """Appends and snapshots on one kind of database."""

    async def append(
        self,
        decision_id: str,
        expected_version: int,
        batch: Sequence[NewEvent],
        upcasters: Upcasters,
    ) -> list[StoredEvent]:
        """Append under the head lock; Conflict on a stale version."""
        ...

    def snapshot(self) -> AbstractAsyncContextManager[LogPages]: ...

    async def close(self) -> None: ...


def log_backend(engine: AsyncEngine) -> LogBackend:
    """The backend for the engine's database."""
    if engine.dialect.name == "postgresql":
        return PostgresBackend(engine)
    return SqliteBackend(engine)


class PostgresBackend:
    """Appends serialised by `SELECT ... FOR UPDATE` on the head row; one COPY per batch."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def append(
        self,
        decision_id: str,
        expected_version: int,
        batch: Sequence[NewEvent],
        upcasters: Upcasters,
    ) -> list[StoredEvent]:
        prepared = prepare(batch)
        async with _driver(self._engine) as connection, connection.transaction():
            head = await connection.fetchrow(_HEAD + " FOR UPDATE")
            tail = await connection.fetchrow(_TAIL.format("$1"), decision_id)
            current_version, stream_hash = tail or (0, GENESIS_HASH)
            if current_version != expected_version:
                found = await connection.fetch(
                    _FIND.format("$1", "$2", "$3"),
                    decision_id,
                    expected_version,
                    expected_version + len(batch),
                )
                return stored_batch(batch, current_version, found, upcasters)
            recorded_at = datetime.now(UTC)
            rows = chain_rows(prepared, (head[0], head[1]), stream_hash, recorded_at)
            try:
                # COPY is twice as fast as a multi-row INSERT here, and as transactional.
                await connection.copy_records_to_table("events", records=rows, columns=LOG_COLUMNS)
            except asyncpg.UniqueViolationError as error:
                raise _unaccounted_row(decision_id, error) from error
            await connection.execute(_PG_HEAD_MOVE, rows[-1][0], rows[-1][12])
        return appended_events(batch, rows, recorded_at, upcasters)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[LogPages]:
        async with (
            _driver(self._engine) as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield _Pages(connection, placeholders=("$1", "$2", "$3"))

    async def close(self) -> None:
        """Nothing of its own to close: it borrows the engine's pool."""


class SqliteBackend:
    """Appends run whole on one writer thread with its own connection (BEGIN IMMEDIATE also
    serialises writers of other processes); snapshots are WAL read transactions."""

    def __init__(self, engine: AsyncEngine) -> None:
        assert engine.url.database, "SQLite URLs name a file"
        self._engine = engine
        self._path = Path(engine.url.database)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="concord-sqlite")
        self._connection: sqlite3.Connection | None = None

    async def append(
        self,
        decision_id: str,
        expected_version: int,
        batch: Sequence[NewEvent],
        upcasters: Upcasters,
    ) -> list[StoredEvent]:
        prepared = prepare(batch)
        # Work handed to the single writer thread runs to its end even if the caller is
        # cancelled; the thread never interleaves two transactions on its connection.
        try:
            outcome = await asyncio.get_running_loop().run_in_executor(
                self._writer, self._append_locked, decision_id, expected_version, prepared
            )
        except sqlite3.IntegrityError as error:
            raise _unaccounted_row(decision_id, error) from error
        except _UNREACHABLE as error:
            raise Unavailable(f"the event store cannot be written: {error}") from error
        if isinstance(outcome, _Written):
            return appended_events(batch, outcome.rows, outcome.recorded_at, upcasters)
        return stored_batch(batch, outcome.current_version, outcome.found, upcasters)

    def _append_locked(
        self,
        decision_id: str,
        expected_version: int,
        batch: Sequence[PreparedEvent],
    ) -> _Written | _NotWritten:
        connection = self._open()
        connection.execute("BEGIN IMMEDIATE")
        try:
            head = connection.execute(_HEAD).fetchone()
            tail = connection.execute(_TAIL.format("?"), (decision_id,)).fetchone()
            current_version, stream_hash = tail or (0, GENESIS_HASH)
            if current_version != expected_version:
                found = connection.execute(
                    _FIND.format("?", "?", "?"),
                    (decision_id, expected_version, expected_version + len(batch)),
                ).fetchall()
                connection.execute("ROLLBACK")
                return _NotWritten(current_version, found)
            recorded_at = datetime.now(UTC)
            rows = chain_rows(batch, head, stream_hash, recorded_at)
            connection.executemany(_SQLITE_WRITE, rows)
            connection.execute(_SQLITE_HEAD_MOVE, (rows[-1][0], rows[-1][12]))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return _Written(rows, recorded_at)

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(
                self._path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            for pragma in SQLITE_PRAGMAS:
                connection.execute(pragma)
            self._connection = connection
        return self._connection

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[LogPages]:
        async with _driver(self._engine) as connection:
            await connection.execute("BEGIN")
            try:
                yield _Pages(connection, placeholders=("?1", "?2", "?3"))
            finally:
                await connection.rollback()

    async def close(self) -> None:
        """Close the writer's connection and stop its thread."""

        def close_connection() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        await asyncio.get_running_loop().run_in_executor(self._writer, close_connection)
        self._writer.shutdown(wait=True)


def _unaccounted_row(decision_id: str, error: Exception) -> Conflict:
    """The Conflict of an insert that hit a unique key under the head lock: the tail was read
    in the same transaction, so only a row written around the store can be in the way."""
    return Conflict(
        f"decision {decision_id}: the log holds a row the store did not write ({error}); "
        "run `concord audit verify`"
    )


@dataclass(frozen=True, slots=True)
class _Written:
    rows: list[LogRow]
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class _NotWritten:
    current_version: int
    found: list[Any]


class _Pages:
    """Raw pages on an asyncpg or aiosqlite connection inside a read transaction."""

    def __init__(self, connection: Any, placeholders: tuple[str, str, str]) -> None:
        self._connection = connection
        self._page = _PAGE.format(*placeholders)
        self._links = _LINKS.format(placeholders[0])
        self._postgres = placeholders[0] == "$1"

    async def head(self) -> tuple[int, str]:
        rows = await self._fetch(_HEAD)
        return int(rows[0][0]), str(rows[0][1])

    async def pages(
        self, page_size: int, after: int = 0, until: int | None = None
    ) -> AsyncIterator[Sequence[Sequence[Any]]]:
        last = _LAST_POSITION if until is None else until
        while page := await self._fetch(self._page, after, page_size, last):
            yield page
            after = page[-1][0]

    async def links(self, position: int) -> tuple[str, str] | None:
        rows = await self._fetch(self._links, position)
        return (str(rows[0][0]), str(rows[0][1])) if rows else None

    async def _fetch(self, query: str, *arguments: Any) -> Sequence[Sequence[Any]]:
        if self._postgres:
            rows: Sequence[Sequence[Any]] = await self._connection.fetch(query, *arguments)
            return rows
        return list(await self._connection.execute_fetchall(query, arguments))


@asynccontextmanager
async def _driver(engine: AsyncEngine) -> AsyncIterator[Any]:
    """A pooled connection's driver-level connection (asyncpg or aiosqlite)."""
    try:
        async with engine.connect() as connection:
            pooled = await connection.get_raw_connection()
            try:
                yield pooled.driver_connection
            except _UNREACHABLE:
                pooled.invalidate()
                raise
    except _UNREACHABLE as error:
        raise Unavailable(f"the event store cannot be reached: {error}") from error
