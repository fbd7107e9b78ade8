"""Sittings on the time-skipping server: each one's agenda is what is pending at its instant,
and an extraordinary request is met by a sitting within its body's delay."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import pytest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.council import checked_council
from domain.council_events import SittingConvened, SittingKind
from domain.nrc import NRC
from domain.values import AgendaItemKind
from runtime.decisions import DecisionClient
from store.councils import Councils, file_digest
from store.decision_events import council_event
from store.eventstore import EventStore
from store.projections import ProjectionRunner
from store.read_models import DecisionsProjection
from tests.integration.workflows.council import Council
from tests.unit.domain.test_councils import nordic
from workflows.meeting import MeetingWorkflow
from workflows.messages import MeetingInput, MeetingResult, extraordinary_meeting_id


@pytest.fixture
def decisions(
    env: WorkflowEnvironment, task_queue: str, worker: Worker, store: EventStore
) -> DecisionClient:
    """Decisions taken in the council the store records (the NRC until one is imported)."""
    return DecisionClient(
        env.client, task_queue, search_attributes=False, rosters=Councils(store).roster_book
    )


async def sit(
    env: WorkflowEnvironment, store: EventStore, task_queue: str, body: str, at: datetime
) -> MeetingResult:
    """One sitting of `body` at `at`, as its schedule starts it, on a read model caught up."""
    await ProjectionRunner(store, [DecisionsProjection()]).catch_up()
    result: MeetingResult = await env.client.execute_workflow(
        MeetingWorkflow.run,
        MeetingInput(body=body, sitting_at=at),
        id=f"meeting-{body.lower()}-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )
    return result


async def test_a_proposal_referred_after_a_sitting_is_on_the_next_committee_agenda_only(
    env: WorkflowEnvironment, council: Council, store: EventStore, task_queue: str
) -> None:
    committee = NRC.body("PC")
    assert committee is not None and committee.cadence is not None
    now = await council.now()
    first = committee.cadence.next_sitting(NRC.anchor, now)
    assert first is not None
    second = committee.cadence.next_sitting(NRC.anchor, first)
    assert second is not None and 10 <= (second - first).days <= 21
    await council.proposed()

    before = await sit(env, store, task_queue, "PC", first)
    assert before.meeting_id is not None and before.agenda == ()

    await council.do("refer", "chair")  # day 1 after the first sitting
    after = await sit(env, store, task_queue, "PC", second)
    assert [(i.decision_id, i.item) for i in after.agenda] == [
        (council.decision_id, AgendaItemKind.PROPOSAL_FOR_REVIEW)
    ]
    assert after.meeting_id is not None and after.scheduled == 1 and after.refused == ()
    state = await council.state()
    assert [(a.meeting_id, a.item) for a in state.agenda] == [
        (after.meeting_id, AgendaItemKind.PROPOSAL_FOR_REVIEW)
    ]
    [recorded] = await store.stream(after.meeting_id)
    sitting = council_event(recorded)
    assert isinstance(sitting, SittingConvened)
    assert sitting.sitting_at == second and sitting.kind is SittingKind.REGULAR
    assert sitting.agenda == after.agenda

    again = await sit(env, store, task_queue, "PC", second)  # the same sitting convened again
    assert again.meeting_id == after.meeting_id and again.agenda == after.agenda
    assert len((await council.state()).agenda) == 1


async def test_an_extraordinary_request_is_met_by_a_sitting_within_its_bodys_delay(
    env: WorkflowEnvironment, council: Council, store: EventStore, task_queue: str
) -> None:
    document = nordic()
    document["bodies"][0]["cadence"] = {"extraordinary_within": "P1D"}  # sits only on request
    await Councils(store).import_council(
        checked_council(document), "nordic.yaml", file_digest("nordic"), "operator:secretariat"
    )
    await council.proposed(proposer="NOR")
    receipt = await council.do("request_meeting", "SWE", level="foreign_ministers", reason="Ice")
    requested = await council.now()
    await ProjectionRunner(store, [DecisionsProjection()]).catch_up()

    handle: WorkflowHandle[MeetingWorkflow, MeetingResult] = env.client.get_workflow_handle_for(
        MeetingWorkflow.run, extraordinary_meeting_id(council.decision_id, receipt.stream_version)
    )
    for _ in range(100):  # the request's notification starts the sitting in the background
        try:
            await handle.describe()
            break
        except RPCError:
            await asyncio.sleep(0.1)
    await env.sleep(timedelta(days=1, minutes=1))
    result = await handle.result()
    assert result.meeting_id is not None and result.meeting_id.endswith("-x")
    [recorded] = await store.stream(result.meeting_id)
    sitting = council_event(recorded)
    assert isinstance(sitting, SittingConvened)
    assert sitting.kind is SittingKind.EXTRAORDINARY and sitting.body == "NCM-MIN"
    assert timedelta(0) < sitting.sitting_at - requested <= timedelta(days=1)
    assert sitting.request == f"{council.decision_id}@{receipt.stream_version}"
    assert [(i.decision_id, i.item) for i in sitting.agenda] == [
        (council.decision_id, AgendaItemKind.EXTRAORDINARY_REQUEST)
    ]
    state = await council.state()
    assert [a.meeting_id for a in state.agenda] == [result.meeting_id]
