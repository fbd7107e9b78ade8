"""End to end on the real dev server: a whole lifecycle of every member, and a worker killed.

A deadline that falls while no worker runs is not waited for here, on the machine's clock: the
time-skipping server drives it in tests/integration/workflows/test_worker_away.py."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import temporalio.workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from audit.verify import verify_log
from domain.commands import SubmitProposal, command_of
from runtime.bootstrap import WorkerOptions, build_worker, workflow_runner
from runtime.decisions import DecisionClient
from store.archive import parse_history
from store.eventstore import open_store
from tests.councils import testing_rosters
from tests.e2e.conftest import WorkerProcess
from tests.shutdown import bounded
from tests.temporal import archived_by_the_follower, code_before
from workflows.decision import (
    AREA_ATTRIBUTE,
    PROPOSER_ATTRIBUTE,
    RELEASE_2026_12_07,
    RELEASE_2026_12_07_2,
    RELEASE_2026_12_08,
    STATE_ATTRIBUTE,
    STATE_INDEXED_AT_CLOSE,
    DecisionWorkflow,
)
from workflows.messages import Receipt

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


class Delegations:
    def __init__(self, client: DecisionClient, decision_id: str) -> None:
        self.client = client
        self.decision_id = decision_id
        self.receipts: list[Receipt] = []

    async def do(self, kind: str, actor: str, **fields: Any) -> Receipt:
        command = command_of(kind, self.decision_id, actor, **fields)
        receipt = await (
            self.client.propose(command)
            if isinstance(command, SubmitProposal)
            else self.client.execute(command)
        )
        self.receipts.append(receipt)
        return receipt

    async def round_text(self, number: int) -> tuple[str, tuple[str, ...]]:
        status = await self.client.status(self.decision_id)
        assert status.state is not None
        r = status.state.round(number)
        return r.text_hash, r.members

    async def all_concur(self, number: int, members: tuple[str, ...] | None = None) -> None:
        text_hash, roster = await self.round_text(number)
        await asyncio.gather(
            *(
                self.do("concur", m, round=number, text_hash=text_hash)
                for m in (members if members is not None else roster)
            )
        )


def started(
    env: WorkflowEnvironment, worker: WorkerProcess, prefix: str, **client_options: Any
) -> Delegations:
    """A worker started, and the delegations of a new decision of their own."""
    worker.start()
    client = DecisionClient(
        env.client, worker.env["CONCORD_TASK_QUEUE"], rosters=testing_rosters, **client_options
    )
    return Delegations(client, f"{prefix}-{uuid.uuid4().hex[:8]}")


async def round_opened(
    env: WorkflowEnvironment,
    worker: WorkerProcess,
    prefix: str,
    deadline: str,
    **client_options: Any,
) -> Delegations:
    """A worker started, and a new decision forwarded by the committee with its round open."""
    d = started(env, worker, prefix, **client_options)
    await d.do("submit_proposal", "POL", title="T", text="Text", area="crisis_management")
    await d.do("refer", "chair")
    await d.do("complete_review", "chair", outcome="forward")
    await d.do("open_round", "chair", deadline=deadline)
    return d


async def listed(env: WorkflowEnvironment, query: str) -> list[str]:
    """Workflow ids matching a visibility query, waiting out its eventual consistency."""
    found: list[str] = []
    for _ in range(50):
        found = [w.id async for w in env.client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.2)
    return found


async def upserted_and_replayed(history: WorkflowHistory) -> list[list[str]]:
    """The search attributes each upsert of a decision's run set, once its history is checked
    to carry one patch marker, the release's, and to replay on the current code."""
    patches = [
        e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data
        for e in history.events
        if e.marker_recorded_event_attributes.marker_name == "core_patch"
    ]
    assert len(patches) == 1 and RELEASE_2026_12_08.encode() in patches[0]
    replayed = await Replayer(
        workflows=[DecisionWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    ).replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None, replayed.replay_failure
    return [
        sorted(
            e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        )
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]


def later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def test_a_full_lifecycle_of_every_member_leaves_a_verified_log(
    dev_server: WorkflowEnvironment, worker_process: WorkerProcess, store_url: str
) -> None:
    d = started(dev_server, worker_process, "d-e2e")
    decision_id = d.decision_id
    await d.do(
        "submit_proposal",
        "POL",
        title="Action Plan on Terrorism",
        text="Draft 1",
        area="struggle_against_terrorism",
    )
    await d.do("refer", "chair")
    await d.do("complete_review", "chair", outcome="amend", text="Draft 2")
    await d.do("open_round", "chair", deadline=later(hours=1))
    text_hash, members = await d.round_text(1)
    assert len(members) >= 20
    await d.do("break_silence", "RUS", round=1, text_hash=text_hash, reasons="Too narrow")
    await d.do("close_round", "chair", round=1)
    await d.do("complete_review", "chair", outcome="amend", text="Draft 3")
    await d.do("open_round", "chair", deadline=later(hours=1))
    await d.do("register_concern", "NOR", round=2, statement="Human rights safeguards")
    # Temporal's lists know a running decision by its area and proposer, never by a state that
    # the next command would make stale: Concord's own lists give that.
    running = await d.client.handle(decision_id).describe()
    indexed = running.typed_search_attributes
    assert indexed.get(AREA_ATTRIBUTE) == "struggle_against_terrorism"
    assert indexed.get(PROPOSER_ATTRIBUTE) == "POL"
    assert indexed.get(STATE_ATTRIBUTE) is None
    await d.all_concur(2)
    await d.do(
        "plan_implementation",
        "chair",
        report_back_deadline=later(days=180),
        action_items=[
            {
                "item_id": "A1",
                "description": "Joint assessment",
                "assignee": {"kind": "all_members"},
            }
        ],
    )
    await d.do("report_progress", "USA", item_id="A1", summary="Drafted")
    await d.do("raise_issue", "POL", title="Uneven contributions")
    await d.do(
        "propose_issue_resolution",
        "chair",
        issue=1,
        text="Quarterly reports",
        deadline=later(hours=1),
    )
    await d.all_concur(3)
    await d.do("complete_action_item", "PC", item_id="A1")
    await d.do("report_progress", "PC", summary="Report back to NRC Ambassadors")
    await d.do("complete", "chair", summary="Implemented")
    result = await d.client.handle(decision_id).result()
    assert result.status == "completed"

    store = await open_store(store_url)
    try:
        stream = await store.stream(decision_id)
        assert [e.stream_version for e in stream] == list(range(1, len(stream) + 1))
        assert sum(len(r.event_ids) for r in d.receipts) == len(stream)
        assert {i for r in d.receipts for i in r.event_ids} == {e.event_id for e in stream}
        assert (await verify_log(store)).ok
        assert await archived_by_the_follower(dev_server.client, store) == 1
        [archived] = await store.archive.histories(decision_id)
        last = parse_history(archived.history_json)[-1]["eventType"]
        assert last == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED", "the run is archived whole"
    finally:
        await store.close()
    query = 'ConcordState = "completed" AND ConcordArea = "struggle_against_terrorism"'
    assert f"decision-{decision_id}" in await listed(dev_server, query)
    # One marker for the release the run ran (the SDK indexes it), the area and proposer once,
    # the state once closed: nothing else costs the server an upsert.
    history = await d.client.handle(decision_id).fetch_history()
    assert await upserted_and_replayed(history) == [
        ["TemporalChangeVersion"],
        ["ConcordArea", "ConcordProposer"],
        ["ConcordState"],
    ]
    assert worker_process.stop() == 0


async def test_a_worker_killed_mid_round_loses_and_doubles_nothing(
    dev_server: WorkflowEnvironment, worker_process: WorkerProcess, store_url: str
) -> None:
    d = await round_opened(dev_server, worker_process, "d-fault", later(hours=1))
    decision_id = d.decision_id
    _, members = await d.round_text(1)
    first, rest = members[:10], members[10:]
    await d.all_concur(1, first)
    worker_process.kill()
    answering = asyncio.ensure_future(d.all_concur(1, rest))
    store = await open_store(store_url)
    try:
        # Nobody can store the answers while no worker runs: the log holds the first ten only.
        stored = [e.type for e in await store.stream(decision_id)]
        assert stored.count("ConcurrenceRecorded") == len(first)
    finally:
        await store.close()
    worker_process.start()
    await asyncio.wait_for(answering, 120)
    status = await d.client.status(decision_id)
    assert status.state is not None and status.state.status.value == "adopted"

    store = await open_store(store_url)
    try:
        types = [e.type for e in await store.stream(decision_id)]
        assert types.count("ConcurrenceRecorded") == len(members)
        assert types[-2:] == ["ConsensusReached", "DecisionAdopted"]
        assert len(types) == 4 + len(members) + 2
        assert (await verify_log(store)).ok
    finally:
        await store.close()
    assert worker_process.stop() == 0


async def test_a_continued_run_keeps_its_index_and_gives_its_state_once_closed(
    dev_server: WorkflowEnvironment, worker_process: WorkerProcess, store_url: str
) -> None:
    d = await round_opened(
        dev_server, worker_process, "d-runs", later(hours=1), max_events_per_run=10
    )
    _, members = await d.round_text(1)
    await d.all_concur(1, members[1:])  # more events than a run keeps: it continues as new
    handle = d.client.handle(d.decision_id)
    continued = await handle.describe()
    assert continued.run_id != continued.raw_description.workflow_execution_info.first_run_id
    indexed = continued.typed_search_attributes
    assert (indexed.get(AREA_ATTRIBUTE), indexed.get(PROPOSER_ATTRIBUTE)) == (
        "crisis_management",
        "POL",
    )
    assert indexed.get(STATE_ATTRIBUTE) is None
    await d.do("withdraw", "POL", reason="Overtaken by events")
    result = await handle.result()
    assert result.runs >= 2
    closed = (await handle.describe()).typed_search_attributes
    assert closed.get(STATE_ATTRIBUTE) == result.status
    # The last run inherited area and proposer: it upserts its release's marker and its state.
    last_run = await upserted_and_replayed(await handle.fetch_history())
    assert last_run == [["TemporalChangeVersion"], ["ConcordState"]]


async def test_a_decision_renewed_from_before_the_release_lists_no_stale_state(
    dev_server: WorkflowEnvironment, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run started by code from before the release indexed every state it passed through;
    # the run it is renewed into inherits that state, and must not leave it listed as current.
    task_queue = f"concord-e2e-{uuid.uuid4().hex[:8]}"
    client = DecisionClient(dev_server.client, task_queue, rosters=testing_rosters)
    d = Delegations(client, f"d-renewed-{uuid.uuid4().hex[:8]}")
    handle = client.handle(d.decision_id)
    store = await open_store(store_url)
    try:
        with monkeypatch.context() as old_worker:
            before = (
                RELEASE_2026_12_08,
                RELEASE_2026_12_07_2,
                RELEASE_2026_12_07,
                STATE_INDEXED_AT_CLOSE,
            )
            old_worker.setattr(temporalio.workflow, "patched", code_before(before))
            uncached = WorkerOptions(max_cached_workflows=0)
            old = build_worker(dev_server.client, store, task_queue, options=uncached)
            async with bounded("the old worker", old):
                await d.do("submit_proposal", "NOR", title="T", text="x", area="crisis_management")
                await d.do("refer", "chair")
        stale = (await handle.describe()).typed_search_attributes.get(STATE_ATTRIBUTE)
        assert stale == "in_review"
        async with bounded("the worker", build_worker(dev_server.client, store, task_queue)):
            renewed = await client.renew(d.decision_id)
            assert (renewed.run_number, renewed.old_branches) == (2, ())
            indexed = (await handle.describe()).typed_search_attributes
            assert indexed.get(STATE_ATTRIBUTE) is None
            assert indexed.get(AREA_ATTRIBUTE) == "crisis_management"
            await d.do("withdraw", "NOR", reason="Overtaken by events")
            result = await handle.result()
        closed = (await handle.describe()).typed_search_attributes
        assert closed.get(STATE_ATTRIBUTE) == result.status == "withdrawn"
    finally:
        await store.close()
