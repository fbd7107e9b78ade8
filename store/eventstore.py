"""The event store: optimistic, idempotent, gap-free appends to the hash-chained log, reads of
it, the archive of workflow histories, and the read models' side of the same database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, Select, Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.errors import InvalidHistory, InvalidInput, Unavailable
from store import archive, side_logs, tracking
from store import checkpoints as checkpoint_book
from store import tokens as token_book
from store import webhooks as webhook_book
from store.appending import stored_event
from store.backend_sqlite import SqliteBackend
from store.backends import LogBackend, LogPages
from store.engine import (
    create_store_engine,
    insert_unless_present,
    parse_database_url,
    sqlite_path,
)
from store.hashing import format_instant
from store.leases import Leases
from store.migrate import UPGRADE_COMMAND
from store.migrate import check_schema as check_schema_revision
from store.records import Appended, ArchivedHistory, CommandRange, NewEvent, StoredEvent
from store.schema import (
    BODY_COLUMNS,
    BodyRow,
    command_ranges,
    events,
    log_head,
    portal_sessions,
    projection_positions,
    refusals,
    state_snapshots,
)
from store.sessions import PortalSessions
from store.side_logs import (
    ACCESS_EVENTS,
    REFUSALS,
    AccessRecord,
    RefusalRecord,
    SideLog,
    SideLogView,
    StoredAccessEvent,
    StoredRefusal,
)
from store.tracking import ProjectionFailure, UnappliedEvents
from store.unavailable import unavailable_on_failure
from store.upcasting import Upcasters, upcasters
from store.webhook_secrets import WebhookSecrets

DEFAULT_PAGE_SIZE: Final = 1_000

ApplyBatch = Callable[[AsyncConnection, Sequence[StoredEvent]], Awaitable[None]]
"""A read model's apply: consecutive events of its decisions, in the store's transaction."""


class EventStore:
    """The append-only log of every decision's events, on SQLite or PostgreSQL."""

    def __init__(self, backend: LogBackend, *, upcasters: Upcasters = upcasters) -> None:
        self.upcasters = upcasters
        self._backend = backend

    @property
    def url(self) -> str:
        """The database's URL (with its password), for processes that open their own store."""
        return self._backend.url

    @property
    def sessions(self) -> PortalSessions:
        """The portal's sessions, kept on the server."""
        return PortalSessions(self._backend)

    @property
    def leases(self) -> Leases:
        """Which process holds each role a deployment runs once, and its heartbeat."""
        return Leases(self._backend)

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
            query = query.where(events.c.occurred_at <= _instant(instant))
        if through is not None:
            query = query.where(events.c.stream_version <= through)
        return await self._select(query.order_by(events.c.stream_version))

    async def latest_snapshot(
        self, decision_id: str, instant: datetime | None, *, through: int | None = None
    ) -> Row[Any] | None:
        """The decision's latest state snapshot taken at or before `instant` (None: any time)
        and, with `through`, at or before that stream version (a raw row: the caller verifies
        it before trusting it)."""
        query = select(state_snapshots).where(state_snapshots.c.decision_id == decision_id)
        if instant is not None:
            query = query.where(state_snapshots.c.occurred_at <= _instant(instant))
        if through is not None:
            query = query.where(state_snapshots.c.stream_version <= through)
        rows = await self._backend.rows(
            query.order_by(state_snapshots.c.stream_version.desc()).limit(1)
        )
        return rows[0] if rows else None

    async def event_hash(self, decision_id: str, stream_version: int) -> str | None:
        rows = await self._backend.rows(
            select(events.c.hash).where(
                events.c.decision_id == decision_id, events.c.stream_version == stream_version
            )
        )
        return str(rows[0].hash) if rows else None

    async def keep_snapshots(self, rows: Sequence[dict[str, Any]]) -> None:
        """Store state snapshots; one already kept for a (decision, version) stays as it is."""
        if not rows:
            return
        async with self._backend.writing() as connection:
            for row in rows:
                await connection.execute(
                    insert_unless_present(
                        connection.dialect.name,
                        state_snapshots,
                        ["decision_id", "stream_version"],
                        row,
                    )
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

    async def head(self) -> tuple[int, str]:
        """The last position of the log and its hash: (0, 64 zeros) when the log is empty."""
        (row,) = await self._backend.rows(select(log_head.c.position, log_head.c.hash))
        return int(row.position), str(row.hash)

    def snapshot(self) -> AbstractAsyncContextManager[LogPages]:
        """A consistent read-only view of the whole log's raw rows, for verification."""
        return self._backend.snapshot()

    async def archive_history(
        self, decision_id: str, workflow_id: str, run_id: str, history_json: str
    ) -> ArchivedHistory:
        """Keep a closed run's Temporal history, bound to the log by its digest (a
        `HistoryArchived` event, store.archive); archiving the same run again changes nothing,
        and binds it if an earlier attempt archived it without. A run bound before whose
        archive was lost is archived again as bound, or refused (Conflict) if Temporal now
        holds another history for it."""
        bound = await self.archive_binding(run_id)
        if bound is not None and not await self.archived_runs([run_id]):
            # Archived and bound before, and the archive lost since: it is archived as bound.
            history_json = archive.as_bound(history_json, bound.payload)
        async with self._backend.writing() as connection:
            archived = await archive.archive_history(
                connection, decision_id, workflow_id, run_id, history_json
            )
        if bound is None:
            await self.append(archive.archive_stream(run_id), 0, [archive.binding(archived)])
        return archived

    async def archive_binding(self, run_id: str) -> StoredEvent | None:
        """The event that bound a run's archived history to the log; None if none did."""
        bound = await self.stream(archive.archive_stream(run_id))
        return bound[0] if bound else None

    async def histories(self, decision_id: str) -> list[ArchivedHistory]:
        """The archived histories of a decision's workflow runs, oldest first."""
        async with self._backend.reading() as connection:
            return await archive.histories(connection, decision_id)

    async def archived_runs(self, run_ids: Collection[str]) -> set[str]:
        """Which of the given workflow runs have their history archived."""
        async with self._backend.reading() as connection:
            return await archive.archived_runs(connection, run_ids)

    async def read(self, query: Select[Any]) -> Sequence[Row[Any]]:
        """The rows of a read-only query on the read models' tables."""
        return await self._backend.rows(query)

    async def read_each(self, *queries: Select[Any]) -> list[Sequence[Row[Any]]]:
        """The rows of each read-only query, all run on one connection."""
        async with self._backend.reading() as connection:
            return [(await connection.execute(query)).all() for query in queries]

    async def projection_position(self, name: str) -> int:
        """The last log position the projection `name` has applied (0 before its first run)."""
        rows = await self._backend.rows(
            select(projection_positions.c.position).where(projection_positions.c.name == name)
        )
        return int(rows[0].position) if rows else 0

    async def apply_projection(self, name: str, apply: ApplyBatch, limit: int) -> int:
        """Apply the projection's next `limit` events (less its parked decisions') with `apply`
        and move its position past them, in one transaction; the number applied.

        UnappliedEvents, and nothing applied, when one of them cannot be read or applied.
        """
        async with self._backend.writing() as connection:
            after = await tracking.locked_position(connection, name)
            rows = await tracking.next_rows(connection, name, after, limit)
            if not rows:
                return 0
            try:
                await apply(connection, [stored_event(row, self.upcasters) for _, row in rows])
            except InvalidHistory as error:
                unapplied = [(row.position, decision_id) for decision_id, row in rows]
                raise UnappliedEvents(unapplied, str(error)) from error
            await tracking.advance(connection, name, rows[-1][1].position)
        return len(rows)

    async def advance_projection(
        self, name: str, after: int, to: int, inserts: Sequence[tuple[Table, list[dict[str, Any]]]]
    ) -> bool:
        """Insert the rows a Keeper made for the log up to `to` and move its position there from
        `after`, in one transaction; False, and nothing written, if it is no longer at `after`
        (another runner moved it)."""
        return await self._backend.advance_projection(name, after, to, inserts)

    async def park_decision(self, name: str, failure: ProjectionFailure) -> None:
        """Record that the projection could not apply an event: it skips that decision's
        events from then on, until it is rebuilt."""
        async with self._backend.writing() as connection:
            await tracking.park(connection, name, failure)

    async def projection_failures(self, name: str) -> list[ProjectionFailure]:
        """The events the projection could not apply (one per parked decision), in log order."""
        async with self._backend.reading() as connection:
            return await tracking.failures(connection, name)

    async def reset_projection(self, name: str, tables: Sequence[Table]) -> None:
        """Empty the projection's tables, forget its failures and set its position to 0."""
        async with self._backend.writing() as connection:
            await tracking.reset(connection, name, tables)

    async def record_refusal(self, refusal: RefusalRecord) -> StoredRefusal:
        """Append a refused command to the refusals log (store.side_logs), numbered and chained."""
        async with self._backend.writing() as connection:
            return await side_logs.append(connection, REFUSALS, refusal)

    async def refusals(
        self, decision_id: str | None = None, after: int = 0, limit: int = 100
    ) -> list[StoredRefusal]:
        """Up to `limit` refusals past position `after` (of one decision, if given), oldest
        first; InvalidHistory for a row that is not a valid refusal."""
        criteria = [] if decision_id is None else [refusals.c.decision_id == decision_id]
        async with self._backend.reading() as connection:
            return await side_logs.read(connection, REFUSALS, *criteria, after=after, limit=limit)

    async def record_access(self, event: AccessRecord) -> StoredAccessEvent:
        """Append a token issued or revoked to the access log (store.side_logs)."""
        async with self._backend.writing() as connection:
            return await side_logs.append(connection, ACCESS_EVENTS, event)

    async def access_events(self, after: int = 0, limit: int = 100) -> list[StoredAccessEvent]:
        """Up to `limit` access events past position `after`, oldest first; InvalidHistory for a
        row that is not a valid access event."""
        async with self._backend.reading() as connection:
            return await side_logs.read(connection, ACCESS_EVENTS, after=after, limit=limit)

    async def issue_token(
        self, role: token_book.Role, name: str, by: str, expires_at: datetime | None
    ) -> tuple[token_book.TokenRecord, str]:
        """A new access token for `role:name` and the token itself (shown once); its issue is
        recorded in the access log in the same transaction."""
        token_id, token, digest = token_book.new_token()
        async with self._backend.writing() as connection:
            record = await token_book.insert_token(
                connection, token_id, digest, role, name, by, expires_at
            )
            await side_logs.append(
                connection,
                ACCESS_EVENTS,
                AccessRecord(
                    kind="token_issued",
                    token_id=token_id,
                    principal=record.principal,
                    by=by,
                    expires_at=expires_at,
                ),
            )
        return record, token

    async def token_for(self, token: str) -> token_book.TokenRecord:
        """The usable token a presented token stands for; Unauthenticated otherwise."""
        async with self._backend.reading() as connection:
            return await token_book.token_for(connection, token)

    async def usable_token(self, token_id: str) -> token_book.TokenRecord:
        """The token `token_id` if it may still be used; Unauthenticated once it is revoked or
        has expired (a portal session's token is checked so at every request)."""
        async with self._backend.reading() as connection:
            return await token_book.usable_by_id(connection, token_id)

    async def revoke_token(self, token_id: str, by: str) -> token_book.TokenRecord:
        """Revoke a token (recorded in the access log) and end every portal session opened
        with it; revoking it again changes nothing."""
        async with self._backend.writing() as connection:
            before = await token_book.token_by_id(connection, token_id)
            record = await token_book.revoke(connection, token_id, by)
            await connection.execute(
                delete(portal_sessions).where(portal_sessions.c.token_id == token_id)
            )
            if before.revoked_at is None:
                await side_logs.append(
                    connection,
                    ACCESS_EVENTS,
                    AccessRecord(
                        kind="token_revoked",
                        token_id=token_id,
                        principal=record.principal,
                        by=by,
                        expires_at=record.expires_at,
                    ),
                )
        return record

    async def tokens(self) -> list[token_book.TokenRecord]:
        async with self._backend.reading() as connection:
            return await token_book.all_tokens(connection)

    @asynccontextmanager
    async def side_log_view(self, log: SideLog[Any, Any]) -> AsyncIterator[SideLogView]:
        """A side log's head and raw rows in one read-only snapshot, for verification."""
        async with self._backend.reading() as connection:
            yield await side_logs.view(connection, log)

    async def register_webhook(
        self,
        principal: str,
        url: str,
        by: str,
        secrets: WebhookSecrets,
        limit: int | None = None,
    ) -> tuple[webhook_book.WebhookRecord, str]:
        """A new webhook for `principal` at `url` and its signing secret (shown once; kept sealed
        by `secrets`, since Concord signs each delivery with it); InvalidInput for a URL it
        cannot call, Refusal (webhook_limit) when `principal` has `limit` webhooks in use."""
        webhook_id, secret = webhook_book.new_webhook()
        async with self._backend.writing() as connection:
            record = await webhook_book.insert_webhook(
                connection, webhook_id, secrets.seal(webhook_id, secret), principal, url, by, limit
            )
        return record, secret

    async def webhook(self, webhook_id: str) -> webhook_book.WebhookRecord:
        """The webhook (removed or not); NotFound when there is none."""
        async with self._backend.reading() as connection:
            return await webhook_book.webhook_by_id(connection, webhook_id)

    async def signing_webhook(
        self, webhook_id: str, secrets: WebhookSecrets
    ) -> tuple[webhook_book.WebhookRecord, str]:
        """The webhook and its signing secret, opened by `secrets`, for a delivery; NotFound when
        there is none, Fault when the secret does not open."""
        async with self._backend.reading() as connection:
            return await webhook_book.signing_webhook(connection, webhook_id, secrets)

    async def seal_webhook_secrets(self, secrets: WebhookSecrets) -> int:
        """Seal the signing secrets written as is before they were sealed; how many were."""
        async with self._backend.writing() as connection:
            return await webhook_book.seal_plaintext(connection, secrets)

    async def webhooks(self, principal: str | None = None) -> list[webhook_book.WebhookRecord]:
        """The webhooks not removed (of one principal, if given), oldest first; no secrets."""
        async with self._backend.reading() as connection:
            return await webhook_book.active_webhooks(connection, principal)

    async def remove_webhook(self, webhook_id: str) -> webhook_book.WebhookRecord:
        """Remove a webhook: no delivery starts for it, and its pending ones stop; again changes
        nothing. NotFound when there is none."""
        async with self._backend.writing() as connection:
            return await webhook_book.disable(connection, webhook_id)

    async def record_delivery_attempt(
        self, attempt: webhook_book.DeliveryAttempt
    ) -> webhook_book.DeliveryRecord:
        """Keep one delivery attempt's outcome on its delivery's row."""
        async with self._backend.writing() as connection:
            return await webhook_book.record_attempt(connection, attempt)

    async def delivery(self, delivery_id: str) -> webhook_book.DeliveryRecord | None:
        async with self._backend.reading() as connection:
            return await webhook_book.delivery_by_id(connection, delivery_id)

    async def deliveries(
        self, webhook_id: str | None = None, limit: int = 100
    ) -> list[webhook_book.DeliveryRecord]:
        """Up to `limit` webhook deliveries (to one webhook, if given), latest attempt first."""
        async with self._backend.reading() as connection:
            return await webhook_book.recent_deliveries(connection, webhook_id, limit)

    async def keep_checkpoint(
        self, size: int, root: bytes, signed: str
    ) -> checkpoint_book.KeptCheckpoint:
        """Keep a published checkpoint of the tree of `size` (root hash, signed note); a size
        kept already is not kept twice: the kept one, or InvalidHistory if its root differs."""
        async with self._backend.writing() as connection:
            return await checkpoint_book.keep(connection, size, root, signed)

    async def checkpoints(
        self, after: int = 0, limit: int = 100
    ) -> list[checkpoint_book.KeptCheckpoint]:
        """Up to `limit` kept checkpoints past position `after`, oldest first."""
        async with self._backend.reading() as connection:
            return await checkpoint_book.kept_after(connection, after, limit)

    async def latest_checkpoint(self) -> checkpoint_book.KeptCheckpoint | None:
        """The checkpoint kept last; None before the first."""
        async with self._backend.reading() as connection:
            return await checkpoint_book.latest(connection)

    async def keep_cosignatures(self, cosignatures: list[checkpoint_book.Cosignature]) -> None:
        """Keep witnesses' cosignatures of kept checkpoints (one per size and witness)."""
        async with self._backend.writing() as connection:
            await checkpoint_book.keep_cosignatures(connection, cosignatures)

    async def cosignatures(self, size: int) -> list[checkpoint_book.Cosignature]:
        """The witnesses' cosignatures kept for the checkpoint of `size`."""
        async with self._backend.reading() as connection:
            return await checkpoint_book.cosignatures_of(connection, size)

    async def witnessed_sizes(self) -> dict[str, int]:
        """Each witness's largest cosigned checkpoint size."""
        async with self._backend.reading() as connection:
            return await checkpoint_book.witnessed_sizes(connection)

    async def select_events(self, query: Select[Any]) -> list[StoredEvent]:
        """The stored events a query over BODY_COLUMNS finds, upcast as every read is."""
        return await self._select(query)

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


def _instant(instant: datetime) -> str:
    """An instant as the log stores it; InvalidInput for one without a timezone."""
    try:
        return format_instant(instant)
    except ValueError:
        raise InvalidInput("instant", "must be timezone-aware") from None
