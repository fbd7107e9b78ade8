"""A decision started by code from before a patch says which old branches it runs, and the
operator moves it onto the current code: it continues as new, its log and its answers intact."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import temporalio.workflow
from temporalio.testing import WorkflowEnvironment

from domain.errors import NotFound
from domain.evolve import replay
from runtime.bootstrap import WorkerOptions, build_worker
from runtime.decisions import DecisionClient, DecisionRun
from store.decision_events import domain_event
from store.eventstore import EventStore
from tests.councils import testing_rosters
from tests.integration.workflows.council import Council
from tests.shutdown import bounded, stopped
from tests.temporal import code_before
from workflows.decision import JOINT_ITEMS_BY_CHAIR, OUTCOMES_BY_PROCEDURE, RELEASES

BEFORE = (JOINT_ITEMS_BY_CHAIR, OUTCOMES_BY_PROCEDURE, *sorted(r for r, _ in RELEASES))
"""The patches the old worker's code did not have: two, and the releases that fold them."""


async def running(decisions: DecisionClient, council: Council) -> DecisionRun:
    handle = decisions.handle(council.decision_id)
    described = await handle.describe()
    return DecisionRun(
        council.decision_id, handle.id, described.run_id, "RUNNING", described.task_queue
    )


async def test_a_decision_on_old_branches_is_listed_and_renewed_onto_the_current_code(
    env: WorkflowEnvironment, store: EventStore, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    decisions = DecisionClient(
        env.client, task_queue, search_attributes=False, rosters=testing_rosters
    )
    council = Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")
    with monkeypatch.context() as old_worker:
        old_worker.setattr(temporalio.workflow, "patched", code_before(BEFORE))
        # No cache, so no sticky queue: the next worker is handed the run at once.
        uncached = WorkerOptions(max_cached_workflows=0)
        old = build_worker(env.client, store, task_queue, options=uncached)
        async with bounded("the old worker", old):
            await council.forwarded()
    try:
        async with bounded("the worker", build_worker(env.client, store, task_queue)):
            # The current worker replays the run: without the patches' markers it keeps their
            # old branches, and says so.
            status = await decisions.status(council.decision_id)
            assert (status.run_number, status.old_branches) == (1, BEFORE)
            # What `concord doctor` lists.
            listed = await decisions.old_branches([await running(decisions, council)])
            assert (listed.runs, listed.unanswered) == ({council.decision_id: BEFORE}, [])
            number = await council.round_open()
            logged = await store.stream(council.decision_id)

            renewed = await decisions.renew(council.decision_id)

            assert (renewed.run_number, renewed.old_branches) == (2, ())
            # The state carried over is the one the log tells.
            assert renewed.state == replay(domain_event(e) for e in logged)
            assert await store.stream(council.decision_id) == logged
            await council.all_concur(number)  # the round opened on old code closes on the new
            assert (await council.state()).status.value == "adopted"
            assert (await decisions.status(council.decision_id)).old_branches == ()
            listed = await decisions.old_branches([await running(decisions, council)])
            assert (listed.runs, listed.unanswered) == ({}, [])
    finally:
        await stopped(f"decision {council.decision_id}'s workflow", council.end())


async def test_a_decision_that_has_ended_is_not_renewed(
    env: WorkflowEnvironment, store: EventStore, task_queue: str
) -> None:
    decisions = DecisionClient(
        env.client, task_queue, search_attributes=False, rosters=testing_rosters
    )
    with pytest.raises(NotFound, match="no decision d-never"):
        await decisions.renew("d-never")
    council = Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")
    async with bounded("the worker", build_worker(env.client, store, task_queue)):
        await council.proposed()
        await council.end()
        with pytest.raises(NotFound, match="it has ended"):
            await decisions.renew(council.decision_id)


async def test_with_no_worker_to_answer_a_run_is_named_unasked_rather_than_waited_on(
    env: WorkflowEnvironment, store: EventStore, task_queue: str
) -> None:
    decisions = DecisionClient(
        env.client, task_queue, search_attributes=False, rosters=testing_rosters
    )
    council = Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")
    uncached = WorkerOptions(max_cached_workflows=0)
    async with bounded("the worker", build_worker(env.client, store, task_queue, options=uncached)):
        await council.proposed()
    try:
        runs = [await running(decisions, council)] * 3
        old = await decisions.old_branches(runs, each_within=timedelta(seconds=1))
        assert (old.runs, old.unanswered) == ({}, [council.decision_id] * 3)
    finally:
        await stopped(f"decision {council.decision_id}'s workflow", council.end())
