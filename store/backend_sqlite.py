"""The SQLite backend's hooks: a whole append on one writer thread, snapshots in WAL reads.

SQLAlchemy costs a few hundred microseconds a statement on this hardware, and aiosqlite a thread
hop per statement: an append runs whole on one writer thread with its own `sqlite3` connection
(BEGIN IMMEDIATE also serialises writers of other processes), in one hop. So does a Keeper's
advance (the Merkle tree's rows): it holds the same write lock as appends, which wait while it
runs, and a hop per statement held it three times as long. A point read that every request makes
(`lookup`: a presented token) runs on the event loop's own thread, on a connection of its own that
never waits for a lock: a WAL read does not wait behind an append, and the hop to a thread cost
more than the read. When the read would wait (another connection holds the file locked, or is
recovering it), it is made instead on a reader thread that may wait, so the loop is never held.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from store.appending import (
    AppendRequest,
    NotWritten,
    Written,
    append_locked,
    run_without_suspending,
)
from store.backends import (
    COMMANDS_AFTER_QUERY,
    HEAD_QUERY,
    PROJECTION_MOVE,
    PROJECTION_POSITION_QUERY,
    STORED_QUERY,
    TAIL_QUERY,
    WRITE_COMMAND,
    LogBackend,
    LogPages,
    RawPages,
    driver_columns,
    driver_connection,
)
from store.engine import SQLITE_BUSY_TIMEOUT_MS, SQLITE_PRAGMAS
from store.records import BodyRow, CommandRange
from store.schema import LOG_COLUMNS, LogRow
from store.unavailable import unavailable_on_failure

_WRITE: Final = (
    f"INSERT INTO events ({', '.join(LOG_COLUMNS)}) VALUES ({', '.join('?' * len(LOG_COLUMNS))})"
)
_HEAD_MOVE: Final = "UPDATE log_head SET position = ?, hash = ? WHERE id = 1"
_WOULD_WAIT: Final = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
"""The primary result codes of a read that would have waited for another connection's lock."""


def _point_read(
    connection: sqlite3.Connection, statement: str, arguments: tuple[Any, ...]
) -> Sequence[Any] | None:
    """The statement's first row: outside a transaction (isolation_level None), it sees the
    latest commit."""
    row: Sequence[Any] | None = connection.execute(statement, arguments).fetchone()
    return row


class SqliteBackend(LogBackend):
    """Appends on one writer thread; snapshots are WAL read transactions."""

    INTEGRITY_ERRORS = (sqlite3.IntegrityError,)

    def __init__(self, engine: AsyncEngine) -> None:
        assert engine.url.database, "SQLite URLs name a file"
        super().__init__(engine)
        self._path = Path(engine.url.database)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="concord-sqlite")
        self._connection: sqlite3.Connection | None = None
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="concord-sqlite-read")
        self._reading: sqlite3.Connection | None = None
        self._here: sqlite3.Connection | None = None
        """The event loop's connection for point reads: it waits for no lock."""

    async def _append(self, request: AppendRequest) -> Written | NotWritten:
        # Work handed to the single writer thread runs to its end even if the caller is
        # cancelled; the thread never interleaves two transactions on its connection.
        with unavailable_on_failure("written"):
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, self._append_on_thread, request
            )

    def _append_on_thread(self, request: AppendRequest) -> Written | NotWritten:
        connection = self._open()
        connection.execute("BEGIN IMMEDIATE")
        try:
            outcome = run_without_suspending(append_locked(_Session(connection), request))
            connection.execute("COMMIT" if isinstance(outcome, Written) else "ROLLBACK")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return outcome

    async def advance_projection(
        self, name: str, after: int, to: int, inserts: Sequence[tuple[Table, list[dict[str, Any]]]]
    ) -> bool:
        statements = [(_insert_statement(table), rows) for table, rows in inserts if rows]
        with unavailable_on_failure("written"):
            return await asyncio.get_running_loop().run_in_executor(
                self._thread, self._advance_on_thread, name, after, to, statements
            )

    def _advance_on_thread(
        self, name: str, after: int, to: int, statements: Sequence[tuple[str, list[dict[str, Any]]]]
    ) -> bool:
        connection = self._open()
        connection.execute("BEGIN IMMEDIATE")
        try:
            row = connection.execute(_PROJECTION_POSITION, (name,)).fetchone()
            if (0 if row is None else row[0]) != after:
                connection.execute("ROLLBACK")
                return False
            for statement, rows in statements:
                connection.executemany(statement, rows)
            connection.execute(_PROJECTION_MOVE, (name, to))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return True

    async def lookup(self, query: str, *arguments: Any) -> Sequence[Any] | None:
        statement = query.format(*("?" * len(arguments)))
        with unavailable_on_failure():
            try:
                return self._lookup_here(statement, arguments)
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF not in _WOULD_WAIT:
                    raise
            return await asyncio.get_running_loop().run_in_executor(
                self._reader, self._lookup_on_thread, statement, arguments
            )

    def _lookup_here(self, statement: str, arguments: tuple[Any, ...]) -> Sequence[Any] | None:
        if self._here is None:
            # timeout=0: busy at once rather than wait. No pragma that writes (journal_mode):
            # the file is in WAL mode from its first writer on; a reader needs none of the rest.
            self._here = sqlite3.connect(
                self._path, timeout=0, isolation_level=None, check_same_thread=False
            )
        return _point_read(self._here, statement, arguments)

    def _lookup_on_thread(self, statement: str, arguments: tuple[Any, ...]) -> Sequence[Any] | None:
        if self._reading is None:
            self._reading = self._connected()
        return _point_read(self._reading, statement, arguments)

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = self._connected()
        return self._connection

    def _connected(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        for pragma in SQLITE_PRAGMAS:
            connection.execute(pragma)
        return connection

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[LogPages]:
        async with driver_connection(self._engine) as connection:
            await connection.execute("BEGIN")
            try:

                async def fetch(query: str, *arguments: Any) -> Sequence[Sequence[Any]]:
                    return list(await connection.execute_fetchall(query, arguments))

                yield RawPages(fetch, placeholders=("?1", "?2", "?3"))
            finally:
                await connection.rollback()

    async def close(self) -> None:
        """Close the writer's and the reader's connections, stop their threads, close the pool."""

        def close_connection() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        def close_reading() -> None:
            if self._reading is not None:
                self._reading.close()
                self._reading = None

        if self._here is not None:
            self._here.close()
            self._here = None
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, close_connection)
        await loop.run_in_executor(self._reader, close_reading)
        self._thread.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        await super().close()


_PROJECTION_POSITION: Final = PROJECTION_POSITION_QUERY.format("?1")
_PROJECTION_MOVE: Final = PROJECTION_MOVE.format("?1", "?2")
_NAMED: Final = sqlite.dialect(paramstyle="named")


@functools.cache
def _insert_statement(table: Table) -> str:
    """`table`'s INSERT of every column, by name, for the driver (`driver_columns`)."""
    driver_columns(table, _NAMED)
    return str(table.insert().compile(dialect=_NAMED))


class _Session:
    """An append's statements on the writer thread's connection. Its coroutines never suspend:
    they run to their end inside `run_without_suspending`, on the writer thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    async def head(self) -> tuple[int, str]:
        position, hash_ = self._connection.execute(HEAD_QUERY).fetchone()
        return position, hash_

    async def tail(self, decision_id: str) -> tuple[int, str] | None:
        row = self._connection.execute(TAIL_QUERY.format("?"), (decision_id,)).fetchone()
        return None if row is None else (row[0], row[1])

    async def stored(self, decision_id: str, after: int, until: int) -> Sequence[BodyRow]:
        rows = self._connection.execute(
            STORED_QUERY.format("?", "?", "?"), (decision_id, after, until)
        ).fetchall()
        return [BodyRow._make(row) for row in rows]

    async def insert(self, rows: Sequence[LogRow]) -> None:
        self._connection.executemany(_WRITE, rows)

    async def move_head(self, position: int, hash: str) -> None:
        self._connection.execute(_HEAD_MOVE, (position, hash))

    async def insert_commands(self, decision_id: str, commands: Sequence[CommandRange]) -> None:
        self._connection.executemany(
            WRITE_COMMAND.format("?", "?", "?", "?", "?"),
            [
                (decision_id, c.first_version, c.last_version, c.idempotency_key, c.command_digest)
                for c in commands
            ],
        )

    async def commands_after(self, decision_id: str, version: int) -> list[CommandRange]:
        rows = self._connection.execute(
            COMMANDS_AFTER_QUERY.format("?", "?"), (decision_id, version)
        ).fetchall()
        return [CommandRange(*row) for row in rows]
