"""Replay audit: archived Temporal histories, replayed on current code, must imply the log."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio.client import WorkflowHistory
from temporalio.worker import (
    Interceptor,
    Replayer,
    StartActivityInput,
    StartLocalActivityInput,
    UnsandboxedWorkflowRunner,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityHandle

from domain.errors import NotFound
from store.archive import HISTORY_ARCHIVED, history_digest
from store.decision_events import new_event
from store.eventstore import EventStore
from store.records import ArchivedHistory, NewEvent
from workflows.converter import DATA_CONVERTER
from workflows.decision import DecisionWorkflow
from workflows.messages import APPEND_EVENTS, AppendInput, AppendResult


class ReplayReport(BaseModel):
    """What replaying a decision's archived histories showed."""

    model_config = ConfigDict(frozen=True)

    decision_id: str
    runs: int
    events_implied: int
    events_stored: int
    failures: tuple[str, ...]
    live_run: str | None = None
    """The run in flight, replayed from Temporal's live history (None: none, or not reached)."""
    in_flight: int = 0
    """Events the live run has asked to store that the log does not hold yet (appends under
    way): not a divergence."""

    @property
    def ok(self) -> bool:
        return not self.failures


class _AppendRecorder(Interceptor):
    """Sees every append the workflow code asks for as it replays, with the events it carries."""

    def __init__(self) -> None:
        self.appended: list[AppendInput] = []

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        recorder = self

        class Inbound(WorkflowInboundInterceptor):
            def init(self, outbound: WorkflowOutboundInterceptor) -> None:
                super().init(_Outbound(outbound, recorder))

        return Inbound


class _Outbound(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, recorder: _AppendRecorder) -> None:
        super().__init__(next)
        self._recorder = recorder

    def start_activity(self, input: StartActivityInput) -> ActivityHandle[Any]:
        if input.activity == APPEND_EVENTS and input.args:
            self._recorder.appended.append(input.args[0])
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> ActivityHandle[Any]:
        # A local activity's marker keeps only its result: its input is seen here, as the
        # code recomputes it during the replay; when the result says the store held a batch
        # an earlier attempt stored (adopted), that batch is what the history implies.
        handle = super().start_local_activity(input)
        if input.activity == APPEND_EVENTS and input.args:
            appending: AppendInput = input.args[0]
            recorded = self._recorder.appended
            place = len(recorded)
            recorded.append(appending)

            def adopted(done: ActivityHandle[Any]) -> None:
                if done.cancelled() or done.exception() is not None:
                    return
                result = done.result()
                if isinstance(result, AppendResult) and result.adopted:
                    recorded[place] = appending.model_copy(update={"events": result.adopted})

            handle.add_done_callback(adopted)
        return handle


def _same(implied: NewEvent, stored: Any) -> bool:
    return bool(
        implied.event_id == stored.event_id
        and implied.type == stored.type
        and implied.payload == stored.payload
        and implied.actor == stored.actor
        and implied.recorded_by == stored.recorded_by
        and implied.occurred_at == stored.occurred_at
    )


async def _unbound(store: EventStore, history: ArchivedHistory) -> list[str]:
    """What is wrong with an archived history's binding to the log: none, a digest that is not
    the archive's (the archive was rewritten), or no binding at all."""
    bound = await store.archive.binding(history.run_id)
    if bound is None:
        return [f"run {history.run_id}: its archived history is not bound to the log"]
    expected = {
        "decision_id": history.decision_id,
        "workflow_id": history.workflow_id,
        "run_id": history.run_id,
        "digest": history_digest(history.history_json),
    }
    recorded = {key: bound.payload.get(key) for key in expected}
    if bound.type != HISTORY_ARCHIVED or recorded != expected:
        differs = ", ".join(k for k in expected if recorded[k] != expected[k]) or "its type"
        return [
            f"run {history.run_id}: its archived history is not the one the log bound at "
            f"position {bound.position} ({differs} differ): the archive was changed"
        ]
    return []


async def replay_decision(
    store: EventStore, decision_id: str, live: WorkflowHistory | None = None
) -> ReplayReport:
    """Replay every archived run of `decision_id`, and the run in flight when its live history
    is given; compare the events they imply with the log."""
    archived = await store.archive.histories(decision_id)
    stored = await store.stream(decision_id)
    if not archived and not stored:
        raise NotFound(f"no decision {decision_id} in the event store")
    failures: list[str] = []
    for kept in archived:
        failures.extend(await _unbound(store, kept))
    implied: list[NewEvent] = []
    runs = [(h.run_id, WorkflowHistory.from_json(h.workflow_id, h.history_json)) for h in archived]
    archived_ids = {h.run_id for h in archived}
    live_run = None
    if live is not None and live.run_id not in archived_ids:
        live_run = live.run_id
        runs.append((live.run_id, live))
    for run_id, history in runs:
        recorder = _AppendRecorder()
        replayer = Replayer(
            workflows=[DecisionWorkflow],
            data_converter=DATA_CONVERTER,
            workflow_runner=UnsandboxedWorkflowRunner(),
            interceptors=[recorder],
        )
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures.append(f"run {run_id}: {result.replay_failure}")
        implied.extend(new_event(e) for batch in recorder.appended for e in batch.events)
    if not runs:
        failures.append(
            "no history: the decision's workflow has no archived run, and its run in flight "
            "was not reached (is Temporal up?)"
        )
    by_version = {e.stream_version: e for e in stored}
    last_stored = max(by_version, default=0)
    seen: set[int] = set()
    in_flight = 0
    for event in implied:
        if event.stream_version in seen:
            continue
        seen.add(event.stream_version)
        match = by_version.get(event.stream_version)
        if match is None and live_run is not None and event.stream_version > last_stored:
            in_flight += 1  # the live run's append is under way
            continue
        if match is None:
            failures.append(
                f"version {event.stream_version} ({event.type}) is implied by the "
                "history but missing from the log"
            )
        elif not _same(event, match):
            failures.append(
                f"version {event.stream_version}: the history implies "
                f"{event.type}, the log holds {match.type} with other content"
            )
    if runs:
        unexplained = sorted(set(by_version) - seen)
        if unexplained:
            failures.append(
                f"versions {unexplained[0]}..{unexplained[-1]} are in the log but "
                "no archived history implies them"
            )
    return ReplayReport(
        decision_id=decision_id,
        runs=len(runs),
        events_implied=len(seen) - in_flight,
        events_stored=len(stored),
        failures=tuple(failures),
        live_run=live_run,
        in_flight=in_flight,
    )
