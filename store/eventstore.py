"""The event store: optimistic, idempotent, gap-free appends to the hash-chained log and reads
of it; and, as narrow ports of their own on the same database, what is kept beside the log (the
archive of workflow histories, state snapshots, the read models' positions, the side logs,
tokens, portal sessions, webhooks, checkpoints, leases)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.errors import InvalidInput, Unavailable
from store.backend_sqlite import SqliteBackend
from store.backends import LogBackend, LogPages
from store.engine import create_store_engine, parse_database_url, sqlite_path
from store.migrate import check_schema as check_schema_revision
from store.records import Appended, BodyRow, CommandRange, NewEvent, StoredEvent, stored_event
from store.revisions import UPGRADE_COMMAND
from store.schema import BODY_COLUMNS, command_ranges, events, log_head
from store.state_snapshots import stored_instant
from store.unavailable import unavailable_on_failure
from store.upcasting import Upcasters, upcasters

if TYPE_CHECKING:
    from store.archive import HistoryArchive
    from store.backends import TableReads
    from store.checkpoints import Checkpoints
    from store.leases import Leases
    from store.sessions import PortalSessions
    from store.side_logs import AccessLog, Refusals
    from store.state_snapshots import StateSnapshots
    from store.tokens import Tokens
    from store.tracking import ProjectionPositions
    from store.tree_rows import TreeRows
    from store.webhooks import Webhooks

DEFAULT_PAGE_SIZE: Final = 1_000


class EventStore:
    """The append-only log of every decision's events, on SQLite or PostgreSQL."""

    def __init__(self, backend: LogBackend, *, upcasters: Upcasters = upcasters) -> None:
        self.upcasters = upcasters
        self._backend = backend

    # The other ports on the same database, each narrow and each in the module that holds its
    # SQL. Each is imported when first asked for: a command that reads the log (`concord
    # status`) does not import the webhooks' cryptography or the side logs' models.

    @cached_property
    def archive(self) -> HistoryArchive:
        """The archived workflow histories, each bound to this log."""
        from store.archive import HistoryArchive

        return HistoryArchive(self._backend, self)

    @cached_property
    def tables(self) -> TableReads:
        """Read-only SQL on the store's tables, for the store's own query modules (and tests):
        SQLAlchemy is imported nowhere else (an import contract holds it)."""
        from store.backends import TableReads

        return TableReads(self._backend, self.upcasters)

    @cached_property
    def snapshots(self) -> StateSnapshots:
        """The decisions' state snapshots."""
        from store.state_snapshots import StateSnapshots

        return StateSnapshots(self._backend)

    @cached_property
    def projections(self) -> ProjectionPositions:
        """Where each read model is in this log, and the decisions it parked."""
        from store.tracking import ProjectionPositions

        return ProjectionPositions(self._backend, self.upcasters)

    @cached_property
    def tree(self) -> TreeRows:
        """The log's entries and the stored subtrees of its Merkle tree."""
        from store.tree_rows import TreeRows

        return TreeRows(self._backend, self.projections)

    @cached_property
    def refusals(self) -> Refusals:
        """The refusals log."""
        from store.side_logs import Refusals

        return Refusals(self._backend)

    @cached_property
    def access(self) -> AccessLog:
        """The access log: tokens issued and revoked."""
        from store.side_logs import AccessLog

        return AccessLog(self._backend)

    @cached_property
    def tokens(self) -> Tokens:
        """The access tokens."""
        from store.tokens import Tokens

        return Tokens(self._backend)

    @cached_property
    def sessions(self) -> PortalSessions:
        """The portal's sessions, kept on the server."""
        from store.sessions import PortalSessions

        return PortalSessions(self._backend)

    @cached_property
    def webhooks(self) -> Webhooks:
        """The webhooks and their deliveries."""
        from store.webhooks import Webhooks

        return Webhooks(self._backend)

    @cached_property
    def checkpoints(self) -> Checkpoints:
        """The checkpoints published and their cosignatures."""
        from store.checkpoints import Checkpoints

        return Checkpoints(self._backend)

    @cached_property
    def leases(self) -> Leases:
        """Which process holds each role a deployment runs once, and its heartbeat."""
        from store.leases import Leases

        return Leases(self._backend)

    @property
    def url(self) -> str:
        """The database's URL (with its password), for processes that open their own store."""
        return self._backend.url

    async def check_ready(self) -> None:
        """Unavailable unless the database answers, at this code's schema revision."""
        await self._backend.check_schema()

    async def close(self) -> None:
        """Stop the writer and close every pooled connection."""
        await self._backend.close()

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

    async def append_adopting(
        self,
        decision_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        commands: Sequence[CommandRange] = (),
    ) -> Appended:
        """Append `events`, with the ranges of the commands they come from, for a writer that
        may have stored another batch at these versions in an attempt whose outcome it lost.

        The batch stored, or found stored with the same content, is returned as `append` does;
        when the stream holds other events after `expected_version`, nothing is written and all
        of those come back `adopted`, with their commands' ranges: the log is the truth, and
        the writer takes them on. Conflict when the stream is short of `expected_version`.
        """
        _check_batch(decision_id, expected_version, events)
        if not events:
            raise InvalidInput("events", "an adopting append takes at least one event")
        first, last = events[0].stream_version, events[-1].stream_version
        for command in commands:
            if not first <= command.first_version <= command.last_version <= last:
                raise InvalidInput(
                    "commands",
                    f"{command.idempotency_key!r} names versions {command.first_version}.."
                    f"{command.last_version}, outside the batch's {first}..{last}",
                )
        return await self._backend.append_adopting(
            decision_id, expected_version, events, commands, self.upcasters
        )

    async def stream(self, decision_id: str, from_version: int = 1) -> list[StoredEvent]:
        """The decision's events from `from_version` on, in stream order (empty if none)."""
        return await self._select(
            select(*BODY_COLUMNS)
            .where(events.c.decision_id == decision_id, events.c.stream_version >= from_version)
            .order_by(events.c.stream_version)
        )

    async def decision_of_key(self, idempotency_key: str) -> str | None:
        """The decision on which a command given with this idempotency key is stored; None
        when no stored command has it."""
        rows = await self._backend.rows(
            select(command_ranges.c.decision_id)
            .where(command_ranges.c.idempotency_key == idempotency_key)
            .limit(1)
        )
        return str(rows[0][0]) if rows else None

    async def stream_version(self, decision_id: str) -> int:
        """The decision's last stream version; 0 when it has no events."""
        (row,) = await self._backend.rows(
            select(func.coalesce(func.max(events.c.stream_version), 0)).where(
                events.c.decision_id == decision_id
            )
        )
        return int(row[0] or 0)

    async def events_until(
        self,
        decision_id: str,
        instant: datetime | None,
        from_version: int = 1,
        *,
        through: int | None = None,
    ) -> list[StoredEvent]:
        """The decision's events from `from_version` on that occurred at or before `instant`
        (None: any time) and, with `through`, up to that stream version, in stream order."""
        query = select(*BODY_COLUMNS).where(
            events.c.decision_id == decision_id, events.c.stream_version >= from_version
        )
        if instant is not None:
            query = query.where(events.c.occurred_at <= stored_instant(instant))
        if through is not None:
            query = query.where(events.c.stream_version <= through)
        return await self._select(query.order_by(events.c.stream_version))

    async def event_hash(self, decision_id: str, stream_version: int) -> str | None:
        rows = await self._backend.rows(
            select(events.c.hash).where(
                events.c.decision_id == decision_id, events.c.stream_version == stream_version
            )
        )
        return str(rows[0].hash) if rows else None

    async def read_log(
        self, from_position: int = 1, page_size: int = DEFAULT_PAGE_SIZE
    ) -> AsyncIterator[StoredEvent]:
        """Every event from `from_position` on, in log order, fetched a page at a time."""
        if page_size < 1:
            raise InvalidInput("page_size", "must be at least 1")
        after = from_position - 1
        while True:
            page = await self._select(
                select(*BODY_COLUMNS)
                .where(events.c.position > after)
                .order_by(events.c.position)
                .limit(page_size)
            )
            for record in page:
                yield record
            if len(page) < page_size:
                return
            after = page[-1].position

    async def events_of_types(
        self,
        types: Collection[str],
        decision_id: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> AsyncIterator[StoredEvent]:
        """Every event of the given types (of one decision, with `decision_id`), in log order,
        fetched a page at a time."""
        query = select(*BODY_COLUMNS).where(events.c.type.in_(sorted(types)))
        if decision_id is not None:
            query = query.where(events.c.decision_id == decision_id)
        after = 0
        while True:
            page = await self._select(
                query.where(events.c.position > after).order_by(events.c.position).limit(page_size)
            )
            for record in page:
                yield record
            if len(page) < page_size:
                return
            after = page[-1].position

    async def events_between(
        self, after: int, through: int, types: Collection[str], limit: int
    ) -> list[StoredEvent]:
        """The first `limit` events of the given types at positions after `after`, up to and
        including `through`, in log order."""
        return await self._select(
            select(*BODY_COLUMNS)
            .where(
                events.c.position > after,
                events.c.position <= through,
                events.c.type.in_(sorted(types)),
            )
            .order_by(events.c.position)
            .limit(limit)
        )

    async def head(self) -> tuple[int, str]:
        """The last position of the log and its hash: (0, 64 zeros) when the log is empty."""
        (row,) = await self._backend.rows(select(log_head.c.position, log_head.c.hash))
        return int(row.position), str(row.hash)

    def snapshot(self) -> AbstractAsyncContextManager[LogPages]:
        """A consistent read-only view of the whole log's raw rows, for verification."""
        return self._backend.snapshot()

    async def _select(self, query: Select[Any]) -> list[StoredEvent]:
        rows = await self._backend.rows(query)
        return [stored_event(BodyRow._make(row), self.upcasters) for row in rows]


async def open_store(url: str, *, check_schema: bool = True) -> EventStore:
    """An EventStore on `url`; Unavailable if its schema is older than the code (or missing)."""
    parsed = parse_database_url(url)
    path = sqlite_path(parsed)
    if check_schema and path is not None and not path.exists():
        raise Unavailable(f"no event store at {path}: run `{UPGRADE_COMMAND}` to create it")
    engine = create_store_engine(parsed)
    if check_schema:
        try:
            with unavailable_on_failure():
                await check_schema_revision(engine)
        except BaseException:
            await engine.dispose()
            raise
    return EventStore(_backend_for(engine))


def _backend_for(engine: AsyncEngine) -> LogBackend:
    if engine.dialect.name == "postgresql":
        from store.backend_postgres import PostgresBackend  # asyncpg: for PostgreSQL alone

        return PostgresBackend(engine)
    return SqliteBackend(engine)


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
