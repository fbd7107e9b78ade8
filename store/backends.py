"""The store's port to its database: appends, reads, writing transactions and snapshots.

One base class holds what every backend shares: the append algorithm (`store.appending`) and
every read and read-model transaction (SQLAlchemy Core); each backend supplies only its hooks:
how an append's statements run under the head lock, how a Keeper's rows and position are
written (on the driver, as appends are), and how a snapshot reads raw pages
(`store.backend_sqlite`, `store.backend_postgres`). Every failure to reach the database leaves
the port as domain.errors.Unavailable (`store.unavailable`).
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, ClassVar, Final, Protocol

from sqlalchemy import Dialect, Row, Select, Table
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.errors import Conflict
from store.appending import (
    AppendRequest,
    NotWritten,
    Written,
    adopting_outcome,
    outcome_events,
    prepare,
)
from store.engine import WRITE_OPTION
from store.migrate import check_schema
from store.records import Appended, BodyRow, CommandRange, NewEvent, StoredEvent, stored_event
from store.schema import LOG_COLUMNS
from store.unavailable import unavailable_on_failure, unreachable
from store.upcasting import Upcasters

HEAD_QUERY: Final = "SELECT position, hash FROM log_head WHERE id = 1"
TAIL_QUERY: Final = (
    "SELECT stream_version, hash FROM events WHERE decision_id = {0} "
    "ORDER BY stream_version DESC LIMIT 1"
)
COMMANDS_AFTER_QUERY: Final = (
    "SELECT idempotency_key, first_version, last_version, command_digest FROM command_ranges "
    "WHERE decision_id = {0} AND last_version > {1} ORDER BY first_version"
)
WRITE_COMMAND: Final = (
    "INSERT INTO command_ranges "
    "(decision_id, first_version, last_version, idempotency_key, command_digest) "
    "VALUES ({0}, {1}, {2}, {3}, {4})"
)
STORED_QUERY: Final = (
    f"SELECT {', '.join(BodyRow._fields)} FROM events WHERE decision_id = {{0}} "
    "AND stream_version > {1} AND stream_version <= {2} ORDER BY stream_version"
)
"""Statements on the drivers, with placeholders ({0}, ...) in each driver's style."""

PROJECTION_POSITION_QUERY: Final = "SELECT position FROM projection_positions WHERE name = {0}"
PROJECTION_START: Final = (
    "INSERT INTO projection_positions (name, position) VALUES ({0}, 0) "
    "ON CONFLICT (name) DO NOTHING"
)
PROJECTION_MOVE: Final = (
    "INSERT INTO projection_positions (name, position) VALUES ({0}, {1}) "
    "ON CONFLICT (name) DO UPDATE SET position = excluded.position"
)


def driver_columns(table: Table, dialect: Dialect) -> tuple[str, ...]:
    """The names of `table`'s columns, for rows written through the driver as they are; a
    TypeError if SQLAlchemy would convert the values of one of them on this database."""
    for column in table.columns:
        if column.type.dialect_impl(dialect).bind_processor(dialect) is not None:
            raise TypeError(f"{table.name}.{column.name}: its values need converting")
    return tuple(column.name for column in table.columns)


_PAGE: Final = (
    f"SELECT {', '.join(LOG_COLUMNS)} FROM events WHERE position > {{0}} AND position <= {{2}} "
    "ORDER BY position LIMIT {1}"
)
_LINKS: Final = "SELECT prev_hash, hash FROM events WHERE position = {0}"
_PROJECTION: Final = "SELECT position FROM projection_positions WHERE name = {0}"
_SUBTREES: Final = (
    "SELECT idx, hash FROM merkle_subtrees WHERE level = {0} AND idx >= {1} AND idx < {2} "
    "ORDER BY idx"
)
_ENTRIES: Final = (
    "SELECT position, body FROM events WHERE position > {0} ORDER BY position LIMIT {1}"
)
_SUBTREE_BEYOND: Final = (
    "SELECT level, idx FROM merkle_subtrees WHERE idx >= (CAST({0} AS BIGINT) >> level) "
    "ORDER BY level, idx "
    "LIMIT 1"
)
_LAST_POSITION: Final = 2**63 - 1
_POSITION: Final = LOG_COLUMNS.index("position")

Fetch = Callable[..., Awaitable[Sequence[Sequence[Any]]]]
"""A driver's fetch: (query, *arguments) -> rows."""


class LogPages(Protocol):
    """The log in a read-only snapshot."""

    async def head(self) -> tuple[int, str]:
        """The recorded head: last position and its hash."""
        ...

    def pages(
        self, page_size: int, after: int = 0, until: int | None = None
    ) -> AsyncIterator[Sequence[Sequence[Any]]]:
        """The rows after position `after` (up to `until`), in position order, `page_size` at
        a time, as the driver gives them: values in LOG_COLUMNS order (a LogRow's fields)."""
        ...

    async def links(self, position: int) -> tuple[str, str] | None:
        """The (prev_hash, hash) of the row at `position`; None when there is none."""
        ...

    async def projection_position(self, name: str) -> int:
        """How far the projection `name` has applied the log (0 before its first run)."""
        ...

    async def subtrees(self, level: int, first: int, end: int) -> Sequence[Sequence[Any]]:
        """The stored Merkle subtrees (idx, hash) of `level` with first <= idx < end, in order."""
        ...

    async def subtree_beyond(self, size: int) -> tuple[int, int] | None:
        """A stored Merkle subtree (level, idx) that is not within the first `size` leaves."""
        ...

    async def entries(self, after: int, limit: int) -> Sequence[Sequence[Any]]:
        """Up to `limit` (position, body) rows after position `after`, in order."""
        ...


class LogBackend(ABC):
    """The store's database, on SQLite or PostgreSQL: subclasses supply `_append`,
    `advance_projection` and `snapshot`; the rest is the same SQL everywhere."""

    INTEGRITY_ERRORS: ClassVar[tuple[type[Exception], ...]]
    """The driver's errors for a unique key already taken."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})

    @property
    def url(self) -> str:
        """The database's URL, with its password: for processes that open their own store."""
        return self._engine.url.render_as_string(hide_password=False)

    async def check_schema(self) -> None:
        """Unavailable unless the database answers at exactly the schema revision of this code."""
        with unavailable_on_failure():
            await check_schema(self._engine)

    async def append(
        self,
        decision_id: str,
        expected_version: int,
        batch: Sequence[NewEvent],
        upcasters: Upcasters,
    ) -> list[StoredEvent]:
        """Append under the head lock; Conflict on a stale version or a row in the way."""
        outcome = await self._append_prepared(
            AppendRequest(decision_id, expected_version, prepare(batch))
        )
        return outcome_events(batch, outcome, upcasters)

    async def append_adopting(
        self,
        decision_id: str,
        expected_version: int,
        batch: Sequence[NewEvent],
        commands: Sequence[CommandRange],
        upcasters: Upcasters,
    ) -> Appended:
        """Append with the commands' ranges; or what the stream holds past the expected version."""
        outcome = await self._append_prepared(
            AppendRequest(decision_id, expected_version, prepare(batch), commands, adopt=True)
        )
        return adopting_outcome(batch, outcome, upcasters)

    async def _append_prepared(self, request: AppendRequest) -> Written | NotWritten:
        try:
            return await self._append(request)
        except self.INTEGRITY_ERRORS as error:
            raise _unaccounted_row(request.decision_id, error) from error

    @abstractmethod
    async def _append(self, request: AppendRequest) -> Written | NotWritten:
        """Run `store.appending.append_locked` in one transaction that locks the head."""

    @abstractmethod
    async def advance_projection(
        self, name: str, after: int, to: int, inserts: Sequence[tuple[Table, list[dict[str, Any]]]]
    ) -> bool:
        """Insert a Keeper's rows and move its position from `after` to `to` in one transaction;
        False, and nothing written, when the position is no longer `after`."""

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        """A read-only connection (each statement sees the latest commits)."""
        with unavailable_on_failure():
            async with self._engine.connect() as connection:
                yield connection

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """A writing transaction, committed when the block ends; on SQLite it takes the write
        lock at BEGIN."""
        with unavailable_on_failure():
            async with self._writer.begin() as connection:
                yield connection

    async def rows(self, query: Select[Any]) -> Sequence[Row[Any]]:
        """The rows of one read-only query."""
        async with self.reading() as connection:
            rows: Sequence[Row[Any]] = (await connection.execute(query)).all()
        return rows

    @abstractmethod
    async def lookup(self, query: str, *arguments: Any) -> Sequence[Any] | None:
        """The first row of one read-only statement on the driver (placeholders `{0}`, `{1}`,
        ... in its style), read in one hop, without SQLAlchemy: a point read by a key that every
        request makes (a presented token's) and that must see the latest commit."""

    @abstractmethod
    def snapshot(self) -> AbstractAsyncContextManager[LogPages]:
        """A consistent read-only view of the whole log's raw rows."""

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()


class RawPages:
    """Raw pages of the log through a driver's fetch, inside a read transaction."""

    def __init__(self, fetch: Fetch, placeholders: tuple[str, str, str]) -> None:
        self._fetch = fetch
        self._page = _PAGE.format(*placeholders)
        self._links = _LINKS.format(placeholders[0])
        self._projection = _PROJECTION.format(placeholders[0])
        self._subtrees = _SUBTREES.format(*placeholders)
        self._subtree_beyond = _SUBTREE_BEYOND.format(placeholders[0])
        self._entries = _ENTRIES.format(placeholders[0], placeholders[1])

    async def head(self) -> tuple[int, str]:
        rows = await self._fetch(HEAD_QUERY)
        position, hash_ = rows[0]
        return int(position), str(hash_)

    async def pages(
        self, page_size: int, after: int = 0, until: int | None = None
    ) -> AsyncIterator[Sequence[Sequence[Any]]]:
        last = _LAST_POSITION if until is None else until
        while page := await self._fetch(self._page, after, page_size, last):
            yield page
            after = page[-1][_POSITION]

    async def links(self, position: int) -> tuple[str, str] | None:
        rows = await self._fetch(self._links, position)
        if not rows:
            return None
        prev_hash, hash_ = rows[0]
        return str(prev_hash), str(hash_)

    async def projection_position(self, name: str) -> int:
        rows = await self._fetch(self._projection, name)
        return int(rows[0][0]) if rows else 0

    async def subtrees(self, level: int, first: int, end: int) -> Sequence[Sequence[Any]]:
        return await self._fetch(self._subtrees, level, first, end)

    async def subtree_beyond(self, size: int) -> tuple[int, int] | None:
        rows = await self._fetch(self._subtree_beyond, size)
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    async def entries(self, after: int, limit: int) -> Sequence[Sequence[Any]]:
        return await self._fetch(self._entries, after, limit)


@asynccontextmanager
async def driver_connection(engine: AsyncEngine) -> AsyncIterator[Any]:
    """A pooled connection's driver-level connection (asyncpg or aiosqlite), never inside a
    transaction; a connection that turns out unreachable, or whose use was cut short (a task
    cancelled, as an activity past its timeout is), is dropped from the pool.

    The pool's reset on return rolls back only what SQLAlchemy began: a driver-level
    transaction cut short at the wrong instant (during its BEGIN or its COMMIT) would go back to
    the pool open, holding its locks (the log's head), and the next append on it would run as a
    savepoint inside it and never commit."""
    with unavailable_on_failure():
        async with engine.connect() as connection:
            pooled = await connection.get_raw_connection()
            driver = pooled.driver_connection
            if _in_transaction(driver):
                await _roll_back(driver)
            try:
                yield driver
            except BaseException as error:
                if not isinstance(error, Exception) or unreachable(error):
                    pooled.invalidate()
                raise


def _on_asyncpg(driver: Any) -> bool:
    """Whether `driver` is asyncpg's (loaded by the PostgreSQL backend alone)."""
    asyncpg = sys.modules.get("asyncpg")
    return asyncpg is not None and isinstance(driver, asyncpg.Connection)


def _in_transaction(driver: Any) -> bool:
    """Whether an asyncpg or aiosqlite connection is inside a transaction."""
    if _on_asyncpg(driver):
        return bool(driver.is_in_transaction())
    return bool(getattr(driver, "in_transaction", False))


async def _roll_back(driver: Any) -> None:
    if _on_asyncpg(driver):
        await driver.execute("ROLLBACK")
    else:
        await driver.rollback()


def _unaccounted_row(decision_id: str, error: Exception) -> Conflict:
    """The Conflict of an insert that hit a unique key under the head lock: the tail was read
    in the same transaction, so only a row written around the store can be in the way."""
    return Conflict(
        f"decision {decision_id}: the log holds a row the store did not write ({error}); "
        "run `concord audit verify`"
    )


class TableReads:
    """Read-only queries on the store's tables, run as the log's reads are."""

    def __init__(self, backend: LogBackend, upcasters: Upcasters) -> None:
        self._backend = backend
        self._upcasters = upcasters

    async def rows(self, query: Select[Any]) -> Sequence[Row[Any]]:
        """The rows of a read-only query."""
        return await self._backend.rows(query)

    async def rows_each(self, *queries: Select[Any]) -> list[Sequence[Row[Any]]]:
        """The rows of each read-only query, all run on one connection."""
        async with self._backend.reading() as connection:
            return [(await connection.execute(query)).all() for query in queries]

    async def events(self, query: Select[Any]) -> list[StoredEvent]:
        """The stored events a query over BODY_COLUMNS finds, upcast as every read is."""
        rows = await self._backend.rows(query)
        return [stored_event(BodyRow._make(row), self._upcasters) for row in rows]
