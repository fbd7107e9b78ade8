"""A long-lived decision: continue-as-new bounds each run's history, the log runs on unbroken."""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.testing import WorkflowEnvironment

from audit.verify import verify_log
from runtime.decisions import DecisionClient
from store.eventstore import EventStore
from tests.councils import testing_rosters
from tests.integration.workflows.council import Council
from tests.waiting import until

pytestmark = pytest.mark.slow

REPORTS = 2_000
EVENTS_PER_RUN = 400


async def test_thousands_of_progress_reports_continue_as_new_with_an_unbroken_log(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore, task_queue: str
) -> None:
    long_lived = DecisionClient(
        env.client,
        task_queue,
        search_attributes=False,
        max_events_per_run=EVENTS_PER_RUN,
        rosters=testing_rosters,
    )
    council = Council(env, long_lived, store, decision_id="d-long-lived")
    await council.planned()
    before = (await council.state()).version

    async def report(n: int) -> None:
        await council.do(
            "report_progress", "RUS", key=f"report-{n}", item_id="A2", summary=f"Report {n}"
        )

    for start in range(0, REPORTS, 50):
        await asyncio.gather(*(report(n) for n in range(start, start + 50)))
    again = await council.do(
        "report_progress", "RUS", key="report-1999", item_id="A2", summary="Report 1999"
    )

    status = await long_lived.status("d-long-lived")
    assert status.state is not None and status.state.plan is not None
    assert status.state.plan.progress_reports == REPORTS
    assert status.run_number >= REPORTS // EVENTS_PER_RUN
    assert again.stream_version <= before + REPORTS

    stream = await store.stream("d-long-lived")
    assert [e.stream_version for e in stream] == list(range(1, before + REPORTS + 1))
    verification = await verify_log(store)
    assert verification.ok, verification

    # Each run archives the run before it beside its loop: the last one's may be on its way.
    async def every_earlier_run_archived() -> bool:
        return len(await store.archive.histories("d-long-lived")) >= status.run_number - 1

    await until(every_earlier_run_archived)
    archived = await store.archive.histories("d-long-lived")
    assert len(archived) == status.run_number - 1
    for history in archived:
        events = json.loads(history.history_json)["events"]
        assert len(events) < 6 * EVENTS_PER_RUN
    await council.end()
