"""The archivist: the log's follower archives the run each decision closes in, whole and once,
waits for a run still open, leaves a run a later one archives to that one, and passes over what
Temporal does not hold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import temporalio.workflow
from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment

from activities.archivist import ARCHIVIST, GIVEN_UP_AFTER, Archivist
from audit.replay import replay_decision
from domain.commands import command_of
from domain.decider import decide, replay
from runtime.bootstrap import WorkerOptions, build_worker
from runtime.decisions import DecisionClient
from store.archive import parse_history
from store.decision_events import domain_event, new_event
from store.eventstore import EventStore
from store.projections import ProjectionRunner
from tests import councils
from tests.integration.workflows.council import Council
from tests.shutdown import bounded
from tests.temporal import archived_by_the_follower, code_before
from workflows.decision import (
    CLOSED_RUN_ARCHIVED_BY_FOLLOWER,
    RELEASE_2026_12_07_2,
    RELEASE_2026_12_08,
    DecisionWorkflow,
)
from workflows.messages import DecisionInput

COMPLETED = "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"


def council_of(env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore) -> Council:
    return Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")


async def open_behind_its_close(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> tuple[Council, int]:
    """A proposed decision whose withdrawal is stored as its run would store it, without the run
    (which stays open): the decision, and the log position of that closing event."""
    council = council_of(env, decisions, store)
    await council.proposed()
    stored = await store.stream(council.decision_id)
    state = replay(domain_event(e) for e in stored)
    command = council.command("withdraw", "POL", reason="Overtaken by events")
    [event] = decide(state, command, await council.now())
    [closing] = await store.append(council.decision_id, len(stored), [new_event(event)])
    return council, closing.position


async def test_a_closed_run_is_archived_whole_once_by_the_follower(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> None:
    council = council_of(env, decisions, store)
    await council.proposed()
    await council.do("withdraw", "POL", reason="Overtaken by events")
    result = await decisions.outcome(council.decision_id, 30)
    assert await store.archive.histories(council.decision_id) == [], "the run archives nothing"

    assert await archived_by_the_follower(env.client, store) == 1
    assert await archived_by_the_follower(env.client, store) == 0, "nothing twice"

    [archived] = await store.archive.histories(council.decision_id)
    run = await decisions.handle(council.decision_id).describe()
    assert (archived.run_id, result.status) == (run.run_id, "withdrawn")
    assert parse_history(archived.history_json)[-1]["eventType"] == COMPLETED
    assert await store.projections.position(ARCHIVIST) == (await store.head())[0]
    report = await replay_decision(store, council.decision_id)
    assert report.ok and report.events_implied == report.events_stored == 2, report.failures


async def test_a_run_still_open_after_its_closing_event_holds_the_follower_until_it_closes(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> None:
    council, closing = await open_behind_its_close(env, decisions, store)
    later = council_of(env, decisions, store)
    await later.proposed()
    await later.do("withdraw", "POL", reason="Overtaken by events")
    await decisions.outcome(later.decision_id, 30)

    assert await archived_by_the_follower(env.client, store) == 0
    assert await store.projections.position(ARCHIVIST) < closing
    assert await store.archive.histories(later.decision_id) == [], "it waits its turn"

    await council.end()  # the run closes (here: terminated)
    assert await archived_by_the_follower(env.client, store) == 2
    [archived] = await store.archive.histories(council.decision_id)
    last = parse_history(archived.history_json)[-1]["eventType"]
    assert last == "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED"
    assert len(await store.archive.histories(later.decision_id)) == 1


async def test_a_run_open_long_after_its_decision_closed_is_recorded_and_passed_over(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> None:
    council, closing = await open_behind_its_close(env, decisions, store)
    assert await archived_by_the_follower(env.client, store) == 0, "held, for now"
    assert await store.projections.position(ARCHIVIST) < closing
    assert await store.projections.failures(ARCHIVIST) == []

    later = await council.now() + GIVEN_UP_AFTER + timedelta(seconds=1)
    passes = ProjectionRunner(store, [Archivist(env.client, clock=lambda: later)])
    assert await passes.catch_up() == 0

    assert await store.projections.position(ARCHIVIST) == (await store.head())[0]
    [failure] = await store.projections.failures(ARCHIVIST)
    assert (failure.decision_id, failure.position) == (council.decision_id, closing)
    assert "still open" in failure.reason
    run = await decisions.handle(council.decision_id).describe()
    assert run.status is WorkflowExecutionStatus.RUNNING
    await council.end()


async def test_a_closing_event_whose_workflow_temporal_does_not_hold_is_passed_over(
    env: WorkflowEnvironment, store: EventStore
) -> None:
    decision_id = f"d-imported-{uuid.uuid4().hex[:8]}"
    proposal = command_of(
        "submit_proposal", decision_id, "POL", title="T", text="x", area="crisis_management"
    )
    now = datetime.now(UTC)
    [proposed] = decide(None, proposal, now)
    state = replay([proposed])
    [withdrawn] = decide(state, command_of("withdraw", decision_id, "POL", reason="r"), now)
    await store.append(decision_id, 0, [new_event(proposed), new_event(withdrawn)])

    assert await archived_by_the_follower(env.client, store) == 0

    assert await store.projections.position(ARCHIVIST) == (await store.head())[0]
    assert await store.projections.failures(ARCHIVIST) == []


async def test_a_run_on_code_before_the_follower_archives_itself_and_is_not_archived_again(
    env: WorkflowEnvironment, store: EventStore, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    decisions = DecisionClient(
        env.client, task_queue, search_attributes=False, rosters=councils.testing_rosters
    )
    council = council_of(env, decisions, store)
    with monkeypatch.context() as old_worker:
        before = (RELEASE_2026_12_08, RELEASE_2026_12_07_2, CLOSED_RUN_ARCHIVED_BY_FOLLOWER)
        old_worker.setattr(temporalio.workflow, "patched", code_before(before))
        uncached = WorkerOptions(max_cached_workflows=0)
        old = build_worker(env.client, store, task_queue, options=uncached)
        async with bounded("the old worker", old):
            await council.proposed()
            await council.do("withdraw", "POL", reason="Overtaken by events")
            result = await decisions.outcome(council.decision_id, 30)

    [archived] = await store.archive.histories(council.decision_id)
    assert result.archived and archived.event_count > 5
    assert parse_history(archived.history_json)[-1]["eventType"] != COMPLETED, "as its last step"
    assert await archived_by_the_follower(env.client, store) == 0
    assert await store.archive.histories(council.decision_id) == [archived]
    report = await replay_decision(store, council.decision_id)
    assert report.ok, report.failures


async def test_a_run_started_after_the_decision_closed_leaves_the_closed_one_to_itself(
    env: WorkflowEnvironment, store: EventStore, task_queue: str
) -> None:
    """A completed decision reopened to take its supersession: the new run, not yet run by any
    worker here, archives the closed one (whose id it is given), so the archivist neither
    waits for it nor reports it, however long it takes."""
    decisions = DecisionClient(
        env.client, task_queue, search_attributes=False, rosters=councils.testing_rosters
    )
    council = council_of(env, decisions, store)
    async with bounded("the worker", build_worker(env.client, store, task_queue)):
        await council.proposed()
        await council.do("withdraw", "POL", reason="Overtaken by events")
        await decisions.outcome(council.decision_id, 30)
    handle = decisions.handle(council.decision_id)
    closed = await handle.describe()
    stored = await store.stream(council.decision_id)
    await env.client.start_workflow(
        DecisionWorkflow.run,
        DecisionInput(
            decision_id=council.decision_id,
            state=replay(domain_event(e) for e in stored),
            previous_run_id=closed.run_id,
            search_attributes=False,
        ),
        id=handle.id,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING

    later = await council.now() + GIVEN_UP_AFTER + timedelta(seconds=1)
    passes = ProjectionRunner(store, [Archivist(env.client, clock=lambda: later)])
    assert await passes.catch_up() == 0

    assert await store.projections.position(ARCHIVIST) == (await store.head())[0]
    assert await store.projections.failures(ARCHIVIST) == []
    await handle.terminate("test finished")
