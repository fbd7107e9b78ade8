"""Activities that store a decision's events and archive its Temporal histories."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Coroutine
from typing import TypeVar

import orjson
import structlog
from temporalio import activity
from temporalio.client import Client, WorkflowHistory

from activities.metrics import APPEND_BATCH_EVENTS, APPEND_SECONDS
from domain.errors import Conflict, InvalidInput
from store.decision_events import domain_event, new_event
from store.eventstore import EventStore
from store.records import Appended, ArchivedHistory, CommandRange
from workflows.failures import to_failure
from workflows.messages import (
    APPEND_EVENTS,
    ARCHIVE_HEARTBEAT,
    ARCHIVE_HISTORY,
    AppendInput,
    AppendResult,
    ArchiveInput,
    ArchiveResult,
    StoredCommand,
    StoredRef,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")


def _bound(decision_id: str) -> structlog.typing.FilteringBoundLogger:
    """The log bound to the decision and the workflow run the activity works for."""
    info = activity.info()
    bound: structlog.typing.FilteringBoundLogger = log.bind(
        decision_id=decision_id, workflow_id=info.workflow_id, run_id=info.workflow_run_id
    )
    return bound


class EventActivities:
    """Appends to and archives into the event store; safe to retry, as activities are."""

    def __init__(self, store: EventStore, client: Client) -> None:
        self._store = store
        self._client = client

    @activity.defn(name=APPEND_EVENTS)
    async def append_events(self, input: AppendInput) -> AppendResult:
        """Store a batch at the expected version; a retry of a stored batch stores nothing, and
        an adopting append gives back what an earlier attempt stored instead."""
        records = [new_event(event) for event in input.events]
        started = time.perf_counter()
        try:
            if input.adopt:
                commands = [CommandRange(**c.model_dump()) for c in input.commands]
                appended = await self._store.append_adopting(
                    input.decision_id, input.expected_version, records, commands
                )
            else:
                stored = await self._store.append(
                    input.decision_id, input.expected_version, records
                )
                appended = Appended(stored, [], adopted=False)
        except (Conflict, InvalidInput) as error:
            # A defect, or a log changed behind Concord's back: the accepted events must still be
            # stored, so the attempt fails loudly and is retried (the decision waits, visibly, as
            # a pending activity) until the cause is repaired; the workflow never fails of it.
            _bound(input.decision_id).error(
                "the store refused a batch", error=error.line(), attempt=activity.info().attempt
            )
            raise to_failure(error, retryable=True) from error
        stored = appended.events
        _measured(len(records), time.perf_counter() - started, appended.adopted)
        refs = tuple(
            StoredRef(
                event_id=e.event_id,
                stream_version=e.stream_version,
                position=e.position,
                hash=e.hash,
            )
            for e in stored
        )
        versions = f"{stored[0].stream_version}..{stored[-1].stream_version}"
        if not appended.adopted:
            _bound(input.decision_id).info(
                "events stored", versions=versions, head=stored[-1].position
            )
            return AppendResult(events=refs)
        _bound(input.decision_id).warning(
            "an earlier attempt's batch is adopted",
            versions=versions,
            instead_of=f"{records[0].stream_version}..{records[-1].stream_version}",
        )
        return AppendResult(
            events=refs,
            adopted=tuple(domain_event(event) for event in stored),
            commands=tuple(StoredCommand(**dataclasses.asdict(c)) for c in appended.commands),
        )

    @activity.defn(name=ARCHIVE_HISTORY)
    async def archive_history(self, input: ArchiveInput) -> ArchiveResult:
        """Copy a run's Temporal history into the store, so replay audits outlive retention;
        heartbeating while it works, so that a worker lost meanwhile is noticed in seconds."""
        archived = await heartbeating(
            archive_run(
                self._client, self._store, input.decision_id, input.workflow_id, input.run_id
            ),
            ARCHIVE_HEARTBEAT.total_seconds(),
        )
        _bound(input.decision_id).info(
            "history archived", run_id=input.run_id, history_events=archived.event_count
        )
        return ArchiveResult(archived=True, event_count=archived.event_count)


async def heartbeating(work: Coroutine[object, object, T], every: float) -> T:
    """What `work` returns, the activity heartbeating every `every` seconds until it does (the
    work is cancelled with the activity)."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every)
            if done:
                return task.result()
            activity.heartbeat()
    finally:
        task.cancel()  # nothing, once it is done


def _measured(events: int, seconds: float, adopted: bool) -> None:
    """Count the append in the SDK runtime's metrics (served when CONCORD_METRICS_PORT is set)."""
    meter = activity.metric_meter()
    outcome = {"outcome": "adopted" if adopted else "stored"}
    meter.create_counter("concord_appends", "Batches appended to the event log.").add(1, outcome)
    meter.create_histogram(APPEND_BATCH_EVENTS, "Events in each appended batch.", "events").record(
        events
    )
    meter.create_histogram_float(
        APPEND_SECONDS, "Time to append a batch to the event log.", "s"
    ).record(seconds)


async def archive_run(
    client: Client, store: EventStore, decision_id: str, workflow_id: str, run_id: str
) -> ArchivedHistory:
    """Fetch a run's Temporal history and archive it; a run archived already stays as it is."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    return await store.archive.keep(decision_id, workflow_id, run_id, exported(history))


def exported(history: WorkflowHistory) -> str:
    """The run's history as Temporal's JSON export, written by orjson: the same JSON as
    `WorkflowHistory.to_json`, without its indented text, whose encoder (the standard library's,
    in Python) took half of an archive's CPU; the archive stores either as one canonical text
    (store.archive.canonical_history)."""
    return orjson.dumps(history.to_json_dict()).decode()
