"""A deadline that falls while no worker runs, on the time-skipping server: the procedure acts
when a worker returns, and dates what it does at the deadline, not when it was processed."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from runtime.bootstrap import WorkerOptions, build_worker
from runtime.decisions import DecisionClient
from store.eventstore import EventStore
from store.records import StoredEvent
from tests import councils
from tests.integration.workflows.council import Council
from tests.shutdown import bounded, stopped

PAST_THE_DEADLINE = timedelta(milliseconds=200)
"""How far the clock goes past the deadline before a worker returns. The test server skips to
the deadline at once; from there its clock runs at the machine's pace, because the timer that
fired has a task no worker takes, so this is kept short."""


async def stored_until(store: EventStore, decision_id: str, last: str) -> list[StoredEvent]:
    """The decision's stream once its last event is of type `last` (asked every 0.1 s, for at
    most 30 s of the machine's time: the worker catching up is awaited, not a deadline)."""
    async with asyncio.timeout(30):
        while (stream := await store.stream(decision_id))[-1].type != last:
            await asyncio.sleep(0.1)
    return stream


async def test_a_round_whose_deadline_passed_while_no_worker_ran_is_agreed_at_its_deadline(
    env: WorkflowEnvironment, store: EventStore, task_queue: str
) -> None:
    decisions = DecisionClient(
        env.client, task_queue, search_attributes=False, rosters=councils.testing_rosters
    )
    council = Council(env, decisions, store, decision_id=f"d-away-{uuid.uuid4().hex[:8]}")
    # Without a cache the worker keeps no sticky queue, so what falls due while it is gone waits
    # on the task queue for the next worker (the test server does not move a task off a gone
    # worker's sticky queue). Nothing queries the decision meanwhile: a query answered by a
    # worker without a cache can hold up the task beside it until the task's timeout.
    uncached = WorkerOptions(max_cached_workflows=0)
    try:
        async with bounded(
            f"the worker on task queue {task_queue}",
            build_worker(env.client, store, task_queue, options=uncached),
        ):
            await council.forwarded()
            deadline = await council.now() + timedelta(days=1)
            await council.do("open_round", "chair", deadline=deadline.isoformat())
            # The opening's notification is still in flight (a webhook fan-out): a minute of
            # the test server's time passes only once the worker has finished it.
            await council.sleep(minutes=1)

        await env.sleep(deadline - await council.now() + PAST_THE_DEADLINE)
        returned_at = await council.now()
        assert returned_at > deadline
        assert (await council.types())[-1] == "ConsensusRoundOpened", "nothing without a worker"
        async with bounded(
            f"the returning worker on task queue {task_queue}",
            build_worker(env.client, store, task_queue),
        ):
            stream = await stored_until(store, council.decision_id, "DecisionAdopted")
    finally:
        await stopped(f"decision {council.decision_id}'s workflow", council.end())

    reached, adopted = stream[-2:]
    assert (reached.type, adopted.type) == ("ConsensusReached", "DecisionAdopted")
    assert reached.payload["outcome"] == "adopted_by_silence"
    assert reached.occurred_at == adopted.occurred_at == deadline < returned_at, (
        "dated at the deadline, not when the returning worker processed it"
    )
