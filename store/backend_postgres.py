"""The PostgreSQL backend's hooks: appends on asyncpg under `SELECT ... FOR UPDATE` of the head
row with one COPY per batch, a Keeper's advance likewise under its position's row lock, and
snapshots in repeatable-read transactions.

Appends and advances run on a few connections of asyncpg's own pool, and so does a point read
that every request makes (`lookup`: a presented token), on a pool of its own: a connection taken
from the engine's pool cost a check (a round trip) and SQLAlchemy's work. For a point read that
was 0.5 ms of the API's CPU a request against 0.17 ms for the rest of a command's request; for a
one-event append, 1.1 of its 3.2 ms (benchmarks in docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar

import asyncpg
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from store.appending import AppendRequest, NotWritten, Written, append_locked
from store.backends import (
    COMMANDS_AFTER_QUERY,
    HEAD_QUERY,
    PROJECTION_MOVE,
    PROJECTION_POSITION_QUERY,
    PROJECTION_START,
    STORED_QUERY,
    TAIL_QUERY,
    WRITE_COMMAND,
    LogBackend,
    LogPages,
    RawPages,
    driver_columns,
    driver_connection,
)
from store.engine import POSTGRES_CONNECT_TIMEOUT_S
from store.records import BodyRow, CommandRange
from store.schema import LOG_COLUMNS, LogRow
from store.unavailable import unavailable_on_failure, unreachable

_HEAD_MOVE: Final = "UPDATE log_head SET position = $1, hash = $2 WHERE id = 1"
_PROJECTION_LOCKED: Final = PROJECTION_POSITION_QUERY.format("$1") + " FOR UPDATE"
_PROJECTION_START: Final = PROJECTION_START.format("$1")
_PROJECTION_MOVE: Final = PROJECTION_MOVE.format("$1", "$2")
T = TypeVar("T")
READING_CONNECTIONS: Final = 4
"""At most this many connections for point reads; one is opened when first needed."""
READING_APPLICATION: Final = "concord-point-reads"
"""How the point reads' connections name themselves to the server (pg_stat_activity)."""
WRITING_CONNECTIONS: Final = 4
"""At most this many connections for appends and advances (each append waits for the head's
lock: more would only wait longer); one is opened when first needed."""
WRITING_APPLICATION: Final = "concord-appends"
"""How the appends' connections name themselves to the server (pg_stat_activity)."""


class PostgresBackend(LogBackend):
    """Appends serialised by the head row's lock, straight on asyncpg (SQLAlchemy costs ~160 µs
    a statement here), on connections of their own."""

    INTEGRITY_ERRORS = (asyncpg.UniqueViolationError,)

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._pools: dict[str, asyncpg.Pool] = {}
        self._opening = asyncio.Lock()

    async def _append(self, request: AppendRequest) -> Written | NotWritten:
        async def append(connection: asyncpg.Connection) -> Written | NotWritten:
            return await append_locked(_Session(connection), request)

        return await self._written(append)

    async def advance_projection(
        self, name: str, after: int, to: int, inserts: Sequence[tuple[Table, list[dict[str, Any]]]]
    ) -> bool:
        async def advance(connection: asyncpg.Connection) -> bool:
            return await self._advance(connection, name, after, to, inserts)

        return await self._written(advance)

    async def _written(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """What `work` returns, run in a transaction on one of the writing connections.

        No connection is checked before it is used: a restarted server leaves them all dead, so
        the first transaction to find its connection unreachable, or in a state it cannot use
        (asyncpg's InternalClientError: the server's goodbye read while the connection was
        idle), has them all replaced and runs once more; what fails again is raised. Running it
        again is safe: an append that did commit before its connection died is found stored,
        as the same batch (`append_locked`), and an advance that did finds its position moved
        (False)."""
        with unavailable_on_failure():
            writing = await self._pool(WRITING_APPLICATION, WRITING_CONNECTIONS)
            try:
                return await _in_transaction_on(writing, work)
            except Exception as error:
                if not (unreachable(error) or isinstance(error, asyncpg.InternalClientError)):
                    raise
                await writing.expire_connections()
            return await _in_transaction_on(writing, work)

    async def _advance(
        self,
        connection: asyncpg.Connection,
        name: str,
        after: int,
        to: int,
        inserts: Sequence[tuple[Table, list[dict[str, Any]]]],
    ) -> bool:
        position = await connection.fetchval(_PROJECTION_LOCKED, name)
        if position is None:  # its first advance: the row is made, then locked
            await connection.execute(_PROJECTION_START, name)
            position = await connection.fetchval(_PROJECTION_LOCKED, name)
        if position != after:
            return False
        for table, rows in inserts:
            if rows:
                columns = driver_columns(table, self._engine.dialect)
                await connection.copy_records_to_table(
                    table.name,
                    records=[tuple(row[column] for column in columns) for row in rows],
                    columns=columns,
                )
        await connection.execute(_PROJECTION_MOVE, name, to)
        return True

    async def lookup(self, query: str, *arguments: Any) -> Sequence[Any] | None:
        statement = query.format(*(f"${n}" for n in range(1, len(arguments) + 1)))
        with unavailable_on_failure():
            reading = await self._pool(READING_APPLICATION, READING_CONNECTIONS)
            try:
                row = await reading.fetchrow(statement, *arguments)
            except Exception:  # a read: the same again is harmless
                # No connection is checked before its read: a restarted server leaves them all
                # dead (and asyncpg does not always say so in one way), so the first read to
                # fail has them all replaced and reads once more; what fails again is raised.
                await reading.expire_connections()
                row = await reading.fetchrow(statement, *arguments)
        return None if row is None else tuple(row)

    async def _pool(self, application: str, size: int) -> asyncpg.Pool:
        """The pool of connections kept for one use, named `application` to the server; opened
        when first needed."""
        async with self._opening:
            if application not in self._pools:
                _, connecting = self._engine.dialect.create_connect_args(self._engine.url)
                self._pools[application] = await asyncpg.create_pool(
                    min_size=0,
                    max_size=size,
                    reset=_left_as_it_is,
                    timeout=POSTGRES_CONNECT_TIMEOUT_S,
                    server_settings={"application_name": application},
                    **connecting,
                )
            return self._pools[application]

    async def close(self) -> None:
        """Close the connections kept for appends and point reads, then every pooled one."""
        for pool in self._pools.values():
            await pool.close()
        self._pools.clear()
        await super().close()

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[LogPages]:
        async with (
            driver_connection(self._engine) as connection,
            connection.transaction(isolation="repeatable_read", readonly=True),
        ):
            yield RawPages(connection.fetch, placeholders=("$1", "$2", "$3"))


async def _in_transaction_on(
    pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]]
) -> T:
    async with pool.acquire() as connection, connection.transaction():
        return await work(connection)


async def _left_as_it_is(connection: asyncpg.Connection) -> None:
    """Nothing to reset on a connection given back: it holds no session state (asyncpg's own
    reset is a round trip), and a transaction left open, by work cancelled midway, asyncpg rolls
    back before this is called."""


class _Session:
    """An append's statements on an asyncpg connection in a transaction."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def head(self) -> tuple[int, str]:
        row = await self._connection.fetchrow(HEAD_QUERY + " FOR UPDATE")
        return row["position"], row["hash"]

    async def tail(self, decision_id: str) -> tuple[int, str] | None:
        row = await self._connection.fetchrow(TAIL_QUERY.format("$1"), decision_id)
        return None if row is None else (row["stream_version"], row["hash"])

    async def stored(self, decision_id: str, after: int, until: int) -> Sequence[BodyRow]:
        rows = await self._connection.fetch(
            STORED_QUERY.format("$1", "$2", "$3"), decision_id, after, until
        )
        return [BodyRow._make(row) for row in rows]

    async def insert(self, rows: Sequence[LogRow]) -> None:
        # COPY is twice as fast as a multi-row INSERT here, and as transactional.
        await self._connection.copy_records_to_table("events", records=rows, columns=LOG_COLUMNS)

    async def move_head(self, position: int, hash: str) -> None:
        await self._connection.execute(_HEAD_MOVE, position, hash)

    async def insert_commands(self, decision_id: str, commands: Sequence[CommandRange]) -> None:
        await self._connection.executemany(
            WRITE_COMMAND.format("$1", "$2", "$3", "$4", "$5"),
            [
                (decision_id, c.first_version, c.last_version, c.idempotency_key, c.command_digest)
                for c in commands
            ],
        )

    async def commands_after(self, decision_id: str, version: int) -> list[CommandRange]:
        rows = await self._connection.fetch(
            COMMANDS_AFTER_QUERY.format("$1", "$2"), decision_id, version
        )
        return [CommandRange(*row) for row in rows]
