"""The archive of closed Temporal workflow histories, kept for replay audits beyond retention.

Each archived run is bound to the log: a `HistoryArchived` event in a stream of its own
(`archive.<digest of the run id>`) records the SHA-256 of the history as archived, so an archive
rewritten later is caught by the chain and by every checkpoint signed since (audit.replay)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import orjson
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import Conflict, InvalidInput, Unavailable
from store.backends import LogBackend
from store.engine import insert_unless_present
from store.hashing import format_instant, parse_instant
from store.records import ArchivedHistory, NewEvent, StoredEvent, event_id_for
from store.schema import workflow_histories

ARCHIVE_STREAM_PREFIX: Final = "archive."
HISTORY_ARCHIVED: Final = "HistoryArchived"
ARCHIVE_PRINCIPAL: Final = "system:archive"
AWAITED_POLL_S: Final = 0.1


def history_digest(history_json: str) -> str:
    """`sha256:<hex>` of an archived history's text as stored (canonical_history)."""
    return "sha256:" + hashlib.sha256(history_json.encode()).hexdigest()


def archive_stream(run_id: str) -> str:
    """The log's stream that binds a run's archived history: one per run."""
    return ARCHIVE_STREAM_PREFIX + hashlib.sha256(run_id.encode()).hexdigest()[:40]


def binding(archived: ArchivedHistory) -> NewEvent:
    """The event that binds an archived history to the log: what was archived, and its digest."""
    stream = archive_stream(archived.run_id)
    return NewEvent(
        event_id=event_id_for(stream, 1),
        decision_id=stream,
        stream_version=1,
        type=HISTORY_ARCHIVED,
        payload={
            "decision_id": archived.decision_id,
            "workflow_id": archived.workflow_id,
            "run_id": archived.run_id,
            "digest": history_digest(archived.history_json),
            "event_count": archived.event_count,
        },
        actor=ARCHIVE_PRINCIPAL,
        recorded_by=ARCHIVE_PRINCIPAL,
        occurred_at=archived.archived_at,
    )


def as_bound(history_json: str, bound: dict[str, Any]) -> str:
    """A run's history fetched again, as the log bound it when it was first archived: its first
    `event_count` events (a run archived while open has gained some since), which must hash to
    the bound digest; Conflict, the history Temporal holds not being the one bound, otherwise."""
    count = bound.get("event_count")
    history = orjson.loads(history_json)
    if not isinstance(count, int) or not isinstance(history, dict):
        raise Conflict("the run's binding or its history is not one Concord writes")
    events = parse_history(history_json)
    cut = {**history, "events": events[:count]}
    text = canonical_history(orjson.dumps(cut).decode())
    if len(events) < count or history_digest(text) != bound.get("digest"):
        raise Conflict(
            f"run {bound.get('run_id')}: the history Temporal holds is not the one the log "
            "bound when it was archived"
        )
    return text


def parse_history(history_json: str) -> list[Any]:
    """The events of a Temporal history exported as JSON (`{"events": [...]}`)."""
    try:
        history = orjson.loads(history_json)
    except orjson.JSONDecodeError as error:
        raise InvalidInput("history_json", f"not JSON: {error}") from None
    if not isinstance(history, dict) or not isinstance(history.get("events"), list):
        raise InvalidInput("history_json", 'a Temporal history is an object with an "events" list')
    if not history["events"]:
        raise InvalidInput("history_json", "a Temporal history has at least one event")
    events: list[Any] = history["events"]
    return events


def canonical_history(history_json: str) -> str:
    """The history with its keys sorted: the same history gives the same text in any process.

    Temporal's JSON export writes protobuf map entries (search attributes, payload metadata) in
    an order that differs between processes, so the bytes of one history are not stable.
    """
    return orjson.dumps(orjson.loads(history_json), option=orjson.OPT_SORT_KEYS).decode()


def same_run(stored: list[Any], given: list[Any]) -> bool:
    """Whether two exports are of one run: one's events are the other's first events.

    A run still open when it is archived (a decision archives its own run as its last step)
    may have gained events by the time a retry fetches it again; those it had are unchanged.
    """
    shorter = min(len(stored), len(given))
    return stored[:shorter] == given[:shorter]


async def archive_history(
    connection: AsyncConnection, decision_id: str, workflow_id: str, run_id: str, history_json: str
) -> ArchivedHistory:
    """Store the run's history unless the run is archived: then it is the stored archive, or a
    Conflict if the stored one is of another decision or its events differ from these. Runs in
    the caller's writing transaction."""
    given = parse_history(history_json)
    row = {
        "decision_id": decision_id,
        "workflow_id": workflow_id,
        "run_id": run_id,
        "history_json": canonical_history(history_json),
        "archived_at": format_instant(datetime.now(UTC)),
        "event_count": len(given),
    }
    await connection.execute(
        insert_unless_present(connection.dialect.name, workflow_histories, ["run_id"], row)
    )
    stored = (
        await connection.execute(
            select(workflow_histories).where(workflow_histories.c.run_id == run_id)
        )
    ).one()
    archived = _archived(stored)
    if (archived.decision_id, archived.workflow_id) != (decision_id, workflow_id):
        raise Conflict(
            f"run {run_id} is already archived for {archived.workflow_id}, not {workflow_id}"
        )
    if archived.history_json != row["history_json"] and not same_run(
        parse_history(archived.history_json), given
    ):
        raise Conflict(f"run {run_id} is already archived with a different history")
    return archived


async def histories(connection: AsyncConnection, decision_id: str) -> list[ArchivedHistory]:
    """The decision's archived runs in the order they were archived."""
    rows = await connection.execute(
        select(workflow_histories)
        .where(workflow_histories.c.decision_id == decision_id)
        .order_by(workflow_histories.c.id)
    )
    return [_archived(row) for row in rows]


async def archived_runs(connection: AsyncConnection, run_ids: Collection[str]) -> set[str]:
    """Which of `run_ids` have their history archived."""
    found: set[str] = set()
    wanted = list(run_ids)
    for start in range(0, len(wanted), 500):
        rows = await connection.execute(
            select(workflow_histories.c.run_id).where(
                workflow_histories.c.run_id.in_(wanted[start : start + 500])
            )
        )
        found.update(row.run_id for row in rows)
    return found


def _archived(row: Row[Any]) -> ArchivedHistory:
    return ArchivedHistory(
        decision_id=row.decision_id,
        workflow_id=row.workflow_id,
        run_id=row.run_id,
        history_json=row.history_json,
        archived_at=parse_instant(row.archived_at),
        event_count=row.event_count,
    )


class BindingLog(Protocol):
    """What the archive takes of the log (the EventStore): the event that binds a history to it,
    appended and read back."""

    async def append(
        self, decision_id: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[StoredEvent]: ...

    async def stream(self, decision_id: str, from_version: int = 1) -> list[StoredEvent]: ...


class HistoryArchive:
    """The archived histories in the store, each bound to the log by an event of `log`."""

    def __init__(self, backend: LogBackend, log: BindingLog) -> None:
        self._backend = backend
        self._log = log

    async def keep(
        self, decision_id: str, workflow_id: str, run_id: str, history_json: str
    ) -> ArchivedHistory:
        """Keep a closed run's Temporal history, bound to the log by its digest (a
        `HistoryArchived` event); archiving the same run again changes nothing, and binds it if
        an earlier attempt archived it without. A run bound before whose archive was lost is
        archived again as bound, or refused (Conflict) if Temporal now holds another history
        for it."""
        bound = await self.binding(run_id)
        if bound is not None and not await self.archived([run_id]):
            # Archived and bound before, and the archive lost since: it is archived as bound.
            history_json = as_bound(history_json, bound.payload)
        async with self._backend.writing() as connection:
            archived = await archive_history(
                connection, decision_id, workflow_id, run_id, history_json
            )
        if bound is None:
            await self._log.append(archive_stream(run_id), 0, [binding(archived)])
        return archived

    async def binding(self, run_id: str) -> StoredEvent | None:
        """The event that bound a run's archived history to the log; None if none did."""
        bound = await self._log.stream(archive_stream(run_id))
        return bound[0] if bound else None

    async def histories(self, decision_id: str) -> list[ArchivedHistory]:
        """The archived histories of a decision's workflow runs, oldest first."""
        async with self._backend.reading() as connection:
            return await histories(connection, decision_id)

    async def awaited(self, decision_id: str, runs: int, within: float) -> list[ArchivedHistory]:
        """The decision's archived runs once `runs` of them are archived (the last by the log's
        follower, after the decision closed); Unavailable if they are not within `within`
        seconds."""
        give_up = time.monotonic() + within
        while len(found := await self.histories(decision_id)) < runs:
            if time.monotonic() > give_up:
                raise Unavailable(
                    f"decision {decision_id}: {len(found)} of its {runs} runs archived after "
                    f"{within:g} s; the projector archives a closed run: is it running?"
                )
            await asyncio.sleep(AWAITED_POLL_S)
        return found

    async def archived(self, run_ids: Collection[str]) -> set[str]:
        """Which of the given workflow runs have their history archived."""
        async with self._backend.reading() as connection:
            return await archived_runs(connection, run_ids)
