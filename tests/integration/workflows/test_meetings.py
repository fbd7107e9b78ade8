"""Sittings on the time-skipping server: each one's agenda is what is pending at its instant,
and an extraordinary request is met by a sitting within its body's delay."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.meetings import MeetingActivities
from domain.commands import Command
from domain.council import checked_council
from domain.council_events import SittingConvened, SittingKind
from domain.nrc import NRC
from domain.values import AgendaItemKind
from runtime.bootstrap import projector
from runtime.decisions import DecisionClient
from store.council_events import council_event
from store.councils import Councils, file_digest
from store.decision_events import new_event
from store.eventstore import EventStore
from store.projections import ProjectionRunner
from store.read_models import DecisionsProjection
from tests.councils import TEST_COUNCIL
from tests.integration.workflows.council import Council
from tests.unit.domain.scenario import Scenario
from tests.unit.domain.test_councils import nordic
from workflows.meeting import MeetingWorkflow
from workflows.messages import (
    ExtraordinaryRequest,
    MeetingInput,
    MeetingResult,
    Receipt,
    extraordinary_meeting_id,
)


@pytest.fixture
def decisions(
    env: WorkflowEnvironment, task_queue: str, worker: Worker, store: EventStore
) -> DecisionClient:
    """Decisions taken in the council the store records (the NRC until one is imported)."""
    return DecisionClient(
        env.client,
        task_queue,
        search_attributes=False,
        rosters=Councils(store, default=TEST_COUNCIL).roster_book,
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


async def test_an_extraordinary_request_is_met_at_its_bodys_first_slot_and_leaves_the_agenda(
    env: WorkflowEnvironment, council: Council, store: EventStore, task_queue: str
) -> None:
    await imported(store, nordic(), {"extraordinary_within": "P1D"})  # sits only on request
    await council.proposed(proposer="NOR")
    receipt = await council.do("request_meeting", "SWE", level="foreign_ministers", reason="Ice")
    [request] = (await council.state()).meetings
    # The projector tells of the request, which starts the sitting.
    await projector(store, env.client, task_queue).catch_up()

    handle: WorkflowHandle[MeetingWorkflow, MeetingResult] = env.client.get_workflow_handle_for(
        MeetingWorkflow.run, extraordinary_meeting_id(council.decision_id, receipt.stream_version)
    )
    await handle.describe()
    await env.sleep(timedelta(days=1, minutes=1))
    result = await handle.result()
    assert result.meeting_id is not None and result.meeting_id.endswith("-x")
    [recorded] = await store.stream(result.meeting_id)
    sitting = council_event(recorded)
    assert isinstance(sitting, SittingConvened)
    assert sitting.kind is SittingKind.EXTRAORDINARY and sitting.body == "NCM-MIN"
    ten = datetime.combine(request.at.date(), time(10), UTC)  # a body sitting ad hoc: 10:00
    assert sitting.sitting_at == (ten if ten > request.at else ten + timedelta(days=1))
    assert sitting.request == f"{council.decision_id}@{receipt.stream_version}"
    assert [(i.decision_id, i.item) for i in sitting.agenda] == [
        (council.decision_id, AgendaItemKind.EXTRAORDINARY_REQUEST)
    ]
    state = await council.state()
    assert [a.meeting_id for a in state.agenda] == [result.meeting_id]

    later = await sit(env, store, task_queue, "NCM-MIN", sitting.sitting_at + timedelta(days=1))
    assert later.meeting_id is not None and later.agenda == ()


@pytest.mark.parametrize(
    ("requested", "sitting_at", "regular_at"),
    [
        ("2026-12-03T12:00:00+00:00", "2026-12-04T09:30:00+00:00", None),
        ("2026-12-04T08:00:00+00:00", "2026-12-04T09:30:00+00:00", None),
        ("2026-12-08T12:00:00+00:00", None, "2026-12-10T09:30:00+00:00"),
    ],
    ids=["next-day", "same-day", "regular-sitting-within-the-delay"],
)
async def test_an_extraordinary_sitting_is_planned_at_the_bodys_usual_time_within_its_delay(
    store: EventStore, requested: str, sitting_at: str | None, regular_at: str | None
) -> None:
    await imported(store, nordic(), {"rule": "FREQ=MONTHLY;BYMONTHDAY=10;BYHOUR=9;BYMINUTE=30"})
    request = ExtraordinaryRequest(
        decision_id="d-planned",
        stream_version=2,
        level="foreign_ministers",
        requested_by="SWE",
        requested_at=datetime.fromisoformat(requested),
    )
    plan = await ActivityEnvironment().run(
        MeetingActivities(store, unreachable).plan_extraordinary_sitting, request
    )
    assert plan.body == "NCM-MIN"  # within two days, the default delay
    assert plan.sitting_at == (datetime.fromisoformat(sitting_at) if sitting_at else None)
    assert plan.regular_at == (datetime.fromisoformat(regular_at) if regular_at else None)


async def test_a_request_whose_body_the_council_no_longer_has_fails_its_sitting_once(
    env: WorkflowEnvironment, store: EventStore, task_queue: str, worker: Worker
) -> None:
    await imported(store, nordic())
    decision = Scenario("d-stranded").proposed()  # taken in the NRC's body NRC-AMB
    decision.do("request_meeting", "RUS", reason="Urgent")
    await store.append(decision.decision_id, 0, [new_event(e) for e in decision.events])
    request = ExtraordinaryRequest(
        decision_id=decision.decision_id,
        stream_version=len(decision.events),
        level="ambassadors",
        requested_by="RUS",
        requested_at=decision.now,
    )

    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(
            env.client.execute_workflow(
                MeetingWorkflow.run,
                MeetingInput(request=request),
                id=f"meeting-stranded-{uuid.uuid4().hex[:8]}",
                task_queue=task_queue,
            ),
            timeout=60,
        )
    assert isinstance(failed.value.cause, ActivityError)
    cause = failed.value.cause.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    assert cause.type == "NotFound"
    assert "body NRC-AMB, which council NORDIC no longer has" in cause.message


async def imported(store: EventStore, document: dict[str, Any], cadence: Any = None) -> None:
    """Import `document` as the council in force, its first body's cadence replaced when given."""
    if cadence is not None:
        document["bodies"][0]["cadence"] = cadence
    await Councils(store).import_council(
        checked_council(document), "nordic.yaml", file_digest("nordic"), "operator:secretariat"
    )


async def unreachable(command: Command, key: str) -> Receipt:
    raise AssertionError(f"planning a sitting sent {command.kind} to a decision")
