"""The archivist: a follower of the log that archives the Temporal history of the run each
decision closes in, whole, once the run has closed; so a decision's run ends with its last event
stored, and its archive holds the run's end too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

import structlog
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.events import archive_run
from domain.events import CLOSING_EVENTS
from store.eventstore import EventStore
from store.records import StoredEvent
from store.tracking import failure_now
from workflows.messages import workflow_id

ARCHIVIST: Final = "archivist"
"""The follower's name, the key of its position in the log."""
GIVEN_UP_AFTER: Final = timedelta(minutes=10)
"""A run still open this long after its decision closed is stuck (its workflow task fails, or
no worker runs it): it is recorded as a failure and passed over, so the runs closed after it
are archived; `concord doctor` archives it once it closes."""

log = structlog.get_logger("concord.archivist")


def _now() -> datetime:
    return datetime.now(UTC)


class Archivist:
    """Archives the closing run of each decision whose closing event (`CLOSING_EVENTS`) the log
    holds, in log order, from its own position: a Keeper (store.projections) that the
    projector runs under its lease. The position stops before a decision whose run has not
    closed yet, and the archivist tries it again at its next pass; a run archived already is
    not fetched again."""

    name = ARCHIVIST
    tables: Final = ()
    """It owns no table: the archive is the store's, and a rebuild only walks the log again."""

    def __init__(self, client: Client, clock: Callable[[], datetime] = _now) -> None:
        """`clock`: the instant a run still open is measured against (GIVEN_UP_AFTER)."""
        self._client = client
        self._clock = clock

    async def keep_up(self, store: EventStore, batch_size: int) -> int:
        archived = 0
        while True:
            after = await store.projections.position(ARCHIVIST)
            head, _ = await store.head()
            if head <= after:
                return archived
            found = await store.events_between(after, head, CLOSING_EVENTS, batch_size)
            through = found[-1].position if len(found) == batch_size else head
            reached = after
            held = False
            try:
                for closing in found:
                    outcome = await self._archive_closed_run(store, closing)
                    held = outcome is None
                    if held:
                        break
                    archived += outcome or 0
                    reached = closing.position
            except Exception:
                if reached > after:  # what was archived is not fetched again
                    await store.projections.advance(ARCHIVIST, after, reached, [])
                raise
            if held:  # a run still open: the position stops before it, for the next pass
                if reached > after:
                    await store.projections.advance(ARCHIVIST, after, reached, [])
                return archived
            await store.projections.advance(ARCHIVIST, after, through, [])

    async def _archive_closed_run(self, store: EventStore, closing: StoredEvent) -> int | None:
        """1 when the run that stored `closing` was archived now; 0 when there was nothing to
        do (archived before, or Temporal no longer holds it) or a run started after `closing`
        will (one started to take the decision's supersession archives the run before it,
        DecisionClient.deliver naming it); None while the run is still open."""
        decision_id = closing.decision_id
        try:
            run = await self._client.get_workflow_handle(workflow_id(decision_id)).describe()
        except RPCError as error:
            if error.status is not RPCStatusCode.NOT_FOUND:
                raise
            log.warning(
                "closed decision's workflow not found: not archived",
                decision_id=decision_id,
                position=closing.position,
            )
            return 0
        if run.start_time is not None and run.start_time > closing.occurred_at:
            return 0  # a later run, to take the supersession: it archives this one
        if run.status is WorkflowExecutionStatus.RUNNING:
            if self._clock() - closing.occurred_at < GIVEN_UP_AFTER:
                return None
            reason = f"run {run.run_id} still open {GIVEN_UP_AFTER} after the decision closed"
            log.error("closed decision's run not archived", decision_id=decision_id, error=reason)
            await store.projections.park(
                ARCHIVIST, failure_now(closing.position, decision_id, reason)
            )
            return 0
        if await store.archive.archived([run.run_id]):
            return 0
        archive = await archive_run(self._client, store, decision_id, run.id, run.run_id)
        log.info(
            "history archived",
            decision_id=decision_id,
            run_id=run.run_id,
            history_events=archive.event_count,
        )
        return 1
