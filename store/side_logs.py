"""Side logs beside the event log, in its database: append-only and hash-chained like it.

One implementation serves each side log (`REFUSALS`, `ACCESS_EVENTS`): a table whose columns are
position, recorded_at, the record's fields, prev_hash and hash. A record's hash is SHA-256 of the
previous record's hash and the canonical JSON (RFC 8785) of its other columns (`hashed_body`),
the chain of the event log (store.hashing), started at the same genesis hash.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar

import orjson
from sqlalchemy import ColumnElement, Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import Conflict, InvalidHistory, InvalidInput
from store.backends import LogBackend
from store.engine import insert_unless_present
from store.hashing import GENESIS_HASH, canonical_json, chain_hash, format_instant
from store.schema import access_events, refusals, side_log_heads
from store.side_records import (
    AccessRecord,
    RefusalRecord,
    SideRecord,
    StoredAccessEvent,
    StoredRefusal,
)

CHAIN_COLUMNS: Final = ("prev_hash", "hash")
"""The columns that chain a record, outside its hashed body."""


R = TypeVar("R", bound=SideRecord)
S = TypeVar("S", bound=SideRecord)


@dataclass(frozen=True)
class SideLog(Generic[R, S]):
    """One side log: its name, table, the record it takes and the record it gives back."""

    name: str
    """The table's name, and the log's in reports."""
    noun: str
    """What one record is called in messages."""
    table: Table
    record: type[R]
    stored: type[S]
    json_fields: frozenset[str] = frozenset()
    """Fields stored as their canonical JSON text, and hashed as the JSON it holds."""

    def __post_init__(self) -> None:
        if tuple(self.table.c.keys()) != self.columns:
            raise TypeError(
                f"{self.table.name} has columns {self.table.c.keys()}, not {self.columns}"
            )

    @property
    def columns(self) -> tuple[str, ...]:
        """The table's columns (checked at import): position, recorded_at, the record's fields,
        then the chain's."""
        return ("position", "recorded_at", *self.record.model_fields, *CHAIN_COLUMNS)

    @property
    def hashed_columns(self) -> tuple[str, ...]:
        """The columns of a record's hashed body: all but the chain's."""
        return self.columns[: -len(CHAIN_COLUMNS)]


REFUSALS: Final = SideLog(
    "refusals", "refusal", refusals, RefusalRecord, StoredRefusal, frozenset({"command"})
)
ACCESS_EVENTS: Final = SideLog(
    "access_events", "access event", access_events, AccessRecord, StoredAccessEvent
)


def hashed_body(log: SideLog[Any, Any], values: Mapping[str, Any]) -> bytes:
    """The canonical JSON of a record's hashed columns (JSON columns as the JSON they hold),
    from its column values as stored. ValueError or TypeError when they cannot be hashed."""
    document = {name: values[name] for name in log.hashed_columns}
    for name in log.json_fields:
        text = document[name]
        if not isinstance(text, str):
            raise TypeError(f"column {name} holds {type(text).__name__}, not JSON text")
        parsed = orjson.loads(text)
        # Only canonical text has one meaning as bytes: anything else was not written here.
        if canonical_json(parsed) != text.encode():
            raise ValueError(f"column {name} does not hold canonical JSON: {text[:80]!r}")
        document[name] = parsed
    return canonical_json(document)


async def append(connection: AsyncConnection, log: SideLog[R, S], record: R) -> S:
    """Append `record` in the connection's writing transaction: numbered after the log's head
    (whose row stays locked until the transaction ends), timestamped now, chained to it."""
    position, prev_hash = await _locked_head(connection, log)
    values = {"position": position + 1, "recorded_at": format_instant(datetime.now(UTC))}
    values |= _column_values(log, record)
    values["prev_hash"] = prev_hash
    values["hash"] = chain_hash(prev_hash, hashed_body(log, values))
    try:
        await connection.execute(insert(log.table).values(values))
    except IntegrityError as error:
        # The head was read under its lock: only a row written around the store is in the way.
        raise Conflict(
            f"the {log.name} log holds a row the store did not write at position "
            f"{values['position']}; run `concord audit verify`"
        ) from error
    await connection.execute(
        update(side_log_heads)
        .where(side_log_heads.c.log == log.name)
        .values(position=values["position"], hash=values["hash"])
    )
    return stored_record(log, values)


async def read(
    connection: AsyncConnection,
    log: SideLog[R, S],
    *criteria: ColumnElement[bool],
    after: int = 0,
    limit: int = 100,
) -> list[S]:
    """Up to `limit` records past position `after` that meet `criteria`, in position order;
    InvalidHistory, naming its position, for a row that is not a valid record."""
    if limit < 1:
        raise InvalidInput("limit", "must be at least 1")
    query = (
        select(log.table)
        .where(log.table.c.position > after, *criteria)
        .order_by(log.table.c.position)
        .limit(limit)
    )
    rows = (await connection.execute(query)).mappings().all()
    return [stored_record(log, dict(row)) for row in rows]


def stored_record(log: SideLog[R, S], values: Mapping[str, Any]) -> S:
    """The record of a row's column values; InvalidHistory naming its position if invalid."""
    fields = dict(values)
    try:
        for name in log.json_fields:
            fields[name] = orjson.loads(fields[name])
        return log.stored.model_validate(fields)
    except (InvalidInput, orjson.JSONDecodeError, TypeError) as error:
        raise InvalidHistory(
            f"the {log.noun} at position {values.get('position')} cannot be read "
            f"({type(error).__name__}: {error}); run `concord audit verify`"
        ) from None


class SideLogView:
    """A side log in one read transaction: its recorded head and its raw rows."""

    def __init__(self, connection: AsyncConnection, log: SideLog[Any, Any]) -> None:
        self._connection = connection
        self.log = log

    async def head(self) -> tuple[int, str]:
        """The recorded last position and hash; (0, genesis) before the first append."""
        query = select(side_log_heads.c.position, side_log_heads.c.hash).where(
            side_log_heads.c.log == self.log.name
        )
        row = (await self._connection.execute(query)).one_or_none()
        return (0, GENESIS_HASH) if row is None else (int(row.position), str(row.hash))

    async def pages(self, page_size: int) -> AsyncIterator[list[dict[str, Any]]]:
        """Every row, `page_size` at a time in position order, as column values by name."""
        table = self.log.table
        after = 0
        while True:
            query = (
                select(table).where(table.c.position > after).order_by(table.c.position)
            ).limit(page_size)
            page = [dict(row) for row in (await self._connection.execute(query)).mappings()]
            if not page:
                return
            yield page
            after = page[-1]["position"]


async def view(connection: AsyncConnection, log: SideLog[Any, Any]) -> SideLogView:
    """The side log as of one snapshot, on a connection whose transaction has not begun."""
    if connection.dialect.name == "postgresql":
        # Read committed would let the head and the rows be read at different commits.
        await connection.execution_options(isolation_level="REPEATABLE READ")
    return SideLogView(connection, log)


async def _locked_head(connection: AsyncConnection, log: SideLog[Any, Any]) -> tuple[int, str]:
    # The lock makes concurrent appenders take turns on PostgreSQL; on SQLite the writing
    # transaction holds the database's write lock already (BEGIN IMMEDIATE).
    query = (
        select(side_log_heads.c.position, side_log_heads.c.hash)
        .where(side_log_heads.c.log == log.name)
        .with_for_update()
    )
    row = (await connection.execute(query)).one_or_none()
    if row is None:
        await connection.execute(
            insert_unless_present(
                connection.dialect.name,
                side_log_heads,
                ["log"],
                {"log": log.name, "position": 0, "hash": GENESIS_HASH},
            )
        )
        row = (await connection.execute(query)).one()
    return int(row.position), str(row.hash)


def _column_values(log: SideLog[Any, Any], record: SideRecord) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in log.record.model_fields:
        value = getattr(record, name)
        if name in log.json_fields:
            value = canonical_json(value).decode()
        elif isinstance(value, datetime):
            value = format_instant(value)
        values[name] = value
    return values


class SideLogBook(Generic[R, S]):
    """One side log in the store: records appended, read back, and viewed whole."""

    def __init__(self, backend: LogBackend, log: SideLog[R, S]) -> None:
        self._backend = backend
        self.log = log

    async def record(self, record: R) -> S:
        """Append `record`, numbered and chained (see `append`)."""
        async with self._backend.writing() as connection:
            return await append(connection, self.log, record)

    async def read(self, after: int = 0, limit: int = 100) -> list[S]:
        """Up to `limit` records past position `after`, oldest first; InvalidHistory for a row
        that is not a valid record."""
        async with self._backend.reading() as connection:
            return await read(connection, self.log, after=after, limit=limit)

    @asynccontextmanager
    async def view(self) -> AsyncIterator[SideLogView]:
        """The log's head and raw rows in one read-only snapshot, for verification."""
        async with self._backend.reading() as connection:
            yield await view(connection, self.log)


class Refusals(SideLogBook[RefusalRecord, StoredRefusal]):
    """The refusals log: every command refused, with its rule, kept though nothing changed."""

    def __init__(self, backend: LogBackend) -> None:
        super().__init__(backend, REFUSALS)

    async def read(
        self, after: int = 0, limit: int = 100, *, decision_id: str | None = None
    ) -> list[StoredRefusal]:
        """Up to `limit` refusals past position `after` (of one decision, if given), oldest
        first; InvalidHistory for a row that is not a valid refusal."""
        criteria = [] if decision_id is None else [refusals.c.decision_id == decision_id]
        async with self._backend.reading() as connection:
            return await read(connection, self.log, *criteria, after=after, limit=limit)


class AccessLog(SideLogBook[AccessRecord, StoredAccessEvent]):
    """The access log: every token issued or revoked."""

    def __init__(self, backend: LogBackend) -> None:
        super().__init__(backend, ACCESS_EVENTS)
