"""A decision survives what the store does: a refused batch is stored once the cause is gone, a
history is archived once per run, and nothing after the last event keeps a decision open."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.events import EventActivities
from activities.notify import LogNotifier, NotifyActivities
from domain.commands import SubmitProposal
from domain.errors import Unavailable
from runtime.bootstrap import workflow_runner
from runtime.decisions import DecisionClient, Unacknowledged
from store.eventstore import EventStore
from tests.councils import testing_rosters
from tests.integration.workflows.council import Council
from tests.shutdown import stopped
from workflows.decision import DecisionWorkflow
from workflows.messages import (
    APPEND_EVENTS,
    ARCHIVE_HISTORY,
    AppendInput,
    AppendResult,
    ArchiveInput,
    ArchiveResult,
    DecisionResult,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[3]


def reordered(value: Any) -> Any:
    """The same JSON document with every object's keys in reverse order, as another process's
    export may write them."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(item) for item in value]
    return value


class CompletionLost(EventActivities):
    """Stores the history (as another process would export it), then loses the completion of
    the first attempt, as a worker killed right after storing it does."""

    attempts = 0

    @activity.defn(name=ARCHIVE_HISTORY)
    async def archive_history(self, input: ArchiveInput) -> ArchiveResult:
        CompletionLost.attempts += 1
        if activity.info().attempt > 1:
            return await super().archive_history(input)
        handle = self._client.get_workflow_handle(input.workflow_id, run_id=input.run_id)
        exported = json.loads((await handle.fetch_history()).to_json())
        await self._store.archive.keep(
            input.decision_id, input.workflow_id, input.run_id, json.dumps(reordered(exported))
        )
        raise ApplicationError("the worker died before it reported the archive")


class StoreRefusesTheFirstBatchTwice(EventActivities):
    """The store refuses the decision's first batch twice (as a defect or a log changed behind
    Concord's back would), through the real activity's own error path, then accepts it."""

    refusals = 0

    @activity.defn(name=APPEND_EVENTS)
    async def append_events(self, input: AppendInput) -> AppendResult:
        if StoreRefusesTheFirstBatchTwice.refusals < 2:
            StoreRefusesTheFirstBatchTwice.refusals += 1
            gap = input.model_copy(update={"expected_version": input.expected_version + 7})
            return await super().append_events(gap)
        return await super().append_events(input)


class ArchiveDown(EventActivities):
    """An archive whose attempts are spent: the failure the workflow sees after the last retry
    (non-retryable, so the test need not wait out a quarter of an hour of real backoff)."""

    @activity.defn(name=ARCHIVE_HISTORY)
    async def archive_history(self, input: ArchiveInput) -> ArchiveResult:
        raise ApplicationError("the archive is down", non_retryable=True)


class StoreDown(EventActivities):
    """The store answers no append while `down` is set, as an unreachable database fails."""

    down = False
    failed = 0

    @activity.defn(name=APPEND_EVENTS)
    async def append_events(self, input: AppendInput) -> AppendResult:
        if StoreDown.down:
            StoreDown.failed += 1
            raise Unavailable("the event store cannot be written: database is locked")
        return await super().append_events(input)


def worker_with(activities: EventActivities, client: Client, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[DecisionWorkflow],
        activities=[
            activities.append_events,
            activities.archive_history,
            NotifyActivities(LogNotifier()).notify,
        ],
        workflow_runner=workflow_runner(),
    )


@pytest.fixture
async def council_on(env: WorkflowEnvironment, store: EventStore) -> AsyncIterator[Any]:
    """A council whose worker runs the given archive activity."""
    task_queue = f"concord-archive-{uuid.uuid4().hex[:8]}"
    workers: list[Worker] = []

    async def start(kind: type[EventActivities]) -> Council:
        worker = worker_with(kind(store, env.client), env.client, task_queue)
        await worker.__aenter__()
        workers.append(worker)
        decisions = DecisionClient(
            env.client, task_queue, search_attributes=False, rosters=testing_rosters
        )
        return Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")

    yield start
    for worker in workers:
        await stopped(f"the worker on task queue {task_queue}", worker.__aexit__(None, None, None))


async def test_a_batch_the_store_refuses_is_stored_once_the_cause_is_gone(
    council_on: Any,
) -> None:
    council: Council = await council_on(StoreRefusesTheFirstBatchTwice)

    proposed = await council.do(
        "submit_proposal", "POL", title="T", text="Draft", area="crisis_management"
    )
    await council.do("withdraw", "POL", reason="Overtaken by events")
    result = await council.decisions.handle(council.decision_id).result()

    assert StoreRefusesTheFirstBatchTwice.refusals == 2
    assert result.status == "withdrawn"
    stream = await council.store.stream(council.decision_id)
    assert [e.type for e in stream] == ["ProposalSubmitted", "DecisionWithdrawn"]
    assert proposed.event_ids == (stream[0].event_id,)


async def renewed_then_withdrawn(council: Council) -> DecisionResult:
    """A decision moved onto a new run (whose archive activity archives the first run) and then
    withdrawn: its result once closed, the run it closed in archived by the log's follower."""
    await council.proposed()
    await council.decisions.renew(council.decision_id)
    await council.do("withdraw", "POL", reason="Overtaken by events")
    return await council.closed()


async def test_a_lost_archive_completion_is_retried_and_the_decision_closes(
    council_on: Any,
) -> None:
    council: Council = await council_on(CompletionLost)

    result = await renewed_then_withdrawn(council)

    assert (result.status, result.archived) == ("withdrawn", True)
    assert CompletionLost.attempts == 2
    first, last = await council.store.archive.histories(council.decision_id)
    assert first.event_count > 5 and last.event_count > 5 and first.run_id != last.run_id


async def test_an_archive_that_keeps_failing_is_reported_and_the_decision_closes(
    council_on: Any,
) -> None:
    council: Council = await council_on(ArchiveDown)

    result = await renewed_then_withdrawn(council)

    assert (result.status, result.archived) == ("withdrawn", False)
    [only] = await council.store.archive.histories(council.decision_id)
    last_run = await council.decisions.handle(council.decision_id).describe()
    assert only.run_id == last_run.run_id, "the run the follower archived; the first one failed"
    assert [e.type for e in await council.store.stream(council.decision_id)] == [
        "ProposalSubmitted",
        "DecisionWithdrawn",
    ]


async def test_a_run_archived_by_two_processes_is_archived_once(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore, store_url: str
) -> None:
    council = Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")
    await council.proposed()
    await council.do("withdraw", "POL", reason="Overtaken by events")
    await council.closed()
    [ours] = await council.store.archive.histories(council.decision_id)

    subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integration.workflows.archive_run",
            env.client.service_client.config.target_host,
            store_url,
            ours.workflow_id,
            ours.run_id,
        ],
        cwd=ROOT,
        check=True,
        timeout=60,
    )

    assert await council.store.archive.histories(council.decision_id) == [ours]


def _impatient_proposal(council: Council) -> tuple[DecisionClient, SubmitProposal]:
    """A client that waits one second for a receipt, and the decision's proposal."""
    impatient = DecisionClient(
        council.env.client,
        council.decisions.task_queue,
        search_attributes=False,
        rosters=testing_rosters,
        command_timeout=1,
    )
    proposal = council.command(
        "submit_proposal", "POL", title="T", text="Draft", area="crisis_management"
    )
    assert isinstance(proposal, SubmitProposal)
    return impatient, proposal


async def test_a_command_the_store_cannot_take_in_time_is_unacknowledged_then_stored_once(
    council_on: Any,
) -> None:
    council: Council = await council_on(StoreDown)
    impatient, proposal = _impatient_proposal(council)
    StoreDown.down = True
    try:
        started = time.monotonic()
        with pytest.raises(Unacknowledged) as proposing:
            await impatient.propose(proposal, key="proposal")
        with pytest.raises(Unacknowledged) as referring:
            await impatient.execute(council.command("refer", "chair"), key="refer")
        waited = time.monotonic() - started
        assert await council.store.stream(council.decision_id) == []
        assert StoreDown.failed >= 1
    finally:
        StoreDown.down = False

    # Given again with their keys, once the store is back: the receipts of what the decision
    # kept queued and stored then, in the order it was given, each once.
    proposed = await council.decisions.propose(proposal, key="proposal")
    referred = await council.decisions.execute(council.command("refer", "chair"), key="refer")

    assert waited < 2 * 1 + 2
    late = referring.value
    assert (late.exit_code, late.http_status) == (5, 503)
    assert late.line().startswith(
        f"unavailable: decision {council.decision_id}: the command is not acknowledged after "
        "1 s: it is not stored yet"
    )
    assert "send it again with the same idempotency key" in late.message
    assert proposing.value.decision_id == council.decision_id
    stream = await council.store.stream(council.decision_id)
    assert [(e.stream_version, e.type) for e in stream] == [
        (1, "ProposalSubmitted"),
        (2, "ReferredToPreparatoryCommittee"),
    ]
    assert (proposed.event_ids, referred.event_ids) == (
        (stream[0].event_id,),
        (stream[1].event_id,),
    )


async def test_an_hour_without_the_store_adds_a_few_hundred_events_to_the_history_not_thousands(
    council_on: Any,
) -> None:
    """Past its first seconds, the append waits between attempts by durable timers (up to two
    minutes), not inside a workflow task kept alive by heartbeats (three events every few
    seconds: ~2,700 an hour, and a decision terminated by Temporal's history limit within a day)."""
    council: Council = await council_on(StoreDown)
    impatient, proposal = _impatient_proposal(council)
    StoreDown.down = True
    try:
        with pytest.raises(Unacknowledged):
            await impatient.propose(proposal, key="proposal")
        await council.env.sleep(3600)
        history = await council.decisions.handle(council.decision_id).fetch_history()
        assert await council.store.stream(council.decision_id) == []
    finally:
        StoreDown.down = False
    attempts = StoreDown.failed

    await council.env.sleep(130)  # the longest wait between two attempts, and then some
    proposed = await council.decisions.propose(proposal, key="proposal")

    assert len(history.events) < 400, f"{len(history.events)} events after an hour"
    assert attempts >= 30, "it went on trying, about every two minutes"
    [stored] = await council.store.stream(council.decision_id)
    assert proposed.event_ids == (stored.event_id,)
