"""Every path of a decision's lifecycle through the real workflow on the time-skipping server."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType

from domain.errors import InvalidInput, Rule
from store.archive import parse_history
from tests.integration.workflows.council import Council


async def test_a_round_is_adopted_by_silence_when_its_deadline_passes(council: Council) -> None:
    await council.forwarded()
    await council.round_open(days=2)
    await council.sleep(days=2, minutes=1)
    assert (await council.state()).status.value == "adopted"
    assert (await council.types())[-2:] == ["ConsensusReached", "DecisionAdopted"]


async def test_every_member_concurring_at_once_adopts_before_the_deadline(council: Council) -> None:
    await council.forwarded()
    number = await council.round_open(days=7)
    receipts = await council.all_concur(number)
    assert len(receipts) == 27
    assert all(r.event_types[0] == "ConcurrenceRecorded" for r in receipts)
    closing = [r for r in receipts if "DecisionAdopted" in r.event_types]
    assert len(closing) == 1 and closing[0].event_types == (
        "ConcurrenceRecorded",
        "ConsensusReached",
        "DecisionAdopted",
    )
    versions = sorted(r.stream_version for r in receipts)
    assert len(set(versions)) == 27
    stream = await council.store.stream(council.decision_id)
    assert [e.stream_version for e in stream] == list(range(1, len(stream) + 1))
    assert (await council.state()).status.value == "adopted"
    outcomes = {(e.actor, e.recorded_by) for e in stream[-2:]}
    assert outcomes == {("system", "system:procedure")}, "the procedure's, not the last member's"


async def test_an_objection_leads_to_an_amended_text_and_a_second_round(council: Council) -> None:
    await council.forwarded()
    first = await council.round_open(days=3)
    state = await council.state()
    await council.do(
        "break_silence",
        "RUS",
        round=first,
        text_hash=state.round(first).text_hash,
        reasons="The definition of terrorism is too narrow",
    )
    await council.sleep(days=3, minutes=1)
    state = await council.state()
    assert state.status.value == "in_review" and state.failed_rounds == 1
    await council.do("complete_review", "chair", outcome="amend", text="Amended text")
    second = await council.round_open(days=3)
    await council.sleep(days=3, minutes=1)
    state = await council.state()
    assert state.status.value == "adopted" and state.adopted_round == second == 2
    assert state.round(2).revision == 2


async def test_the_proposal_lapses_after_the_maximum_number_of_failed_rounds(
    council: Council,
) -> None:
    await council.forwarded(max_failed_rounds=2)
    for number in (1, 2):
        await council.round_open(days=1)
        state = await council.state()
        await council.do(
            "break_silence",
            "FRA",
            round=number,
            text_hash=state.round(number).text_hash,
            reasons="No",
        )
        await council.do("close_round", "chair", round=number)
        if number == 1:
            await council.do("complete_review", "chair", outcome="amend", text="Second text")
    assert (await council.state()).status.value == "lapsed"
    assert (await council.types())[-2:] == ["ConsensusFailed", "DecisionLapsed"]
    result = await council.decisions.handle(council.decision_id).result()
    assert result.status == "lapsed"


async def test_a_withdrawn_objection_and_a_concern_let_the_round_adopt(council: Council) -> None:
    await council.forwarded()
    number = await council.round_open(days=2)
    text_hash = (await council.state()).round(number).text_hash
    await council.do("break_silence", "TUR", round=number, text_hash=text_hash, reasons="Wait")
    await council.do("withdraw_objection", "TUR", round=number)
    await council.do("register_concern", "NOR", round=number, statement="Human rights")
    await council.sleep(days=2, minutes=1)
    state = await council.state()
    assert state.status.value == "adopted"
    assert [c.member for c in state.concerns] == ["NOR"]


async def test_reminders_are_recorded_for_members_who_have_not_answered(council: Council) -> None:
    await council.forwarded()
    number = await council.round_open(days=3, reminder_before_seconds=86_400)
    await council.all_concur(number, ("USA", "GBR"))
    await council.sleep(days=2, hours=1)
    stream = await council.store.stream(council.decision_id)
    [reminder] = [e for e in stream if e.type == "RemindersSent"]
    assert "USA" not in reminder.payload["recipients"]
    assert "RUS" in reminder.payload["recipients"] and reminder.actor == "system"


async def test_a_missed_report_back_deadline_is_flagged(council: Council) -> None:
    await council.planned(report_days=20)
    await council.sleep(days=21)
    assert (await council.types())[-1] == "ReportDeadlineMissed"
    state = await council.state()
    assert state.plan is not None and state.plan.deadline_flagged


async def test_two_implementation_issues_run_their_own_rounds_at_once(council: Council) -> None:
    await council.planned()
    await council.do("raise_issue", "POL", title="Data exchange delayed")
    await council.do("raise_issue", "RUS", title="Reporting format")
    await council.do(
        "propose_issue_resolution",
        "chair",
        issue=1,
        text="Deliver by March",
        deadline=await council.later(days=2),
    )
    await council.do(
        "propose_issue_resolution",
        "chair",
        issue=2,
        text="Use the template",
        deadline=await council.later(days=4),
    )
    await council.do("report_progress", "RUS", item_id="A2", summary="Goes on meanwhile")
    state = await council.state()
    await council.do(
        "break_silence",
        "USA",
        round=3,
        text_hash=state.round(3).text_hash,
        reasons="Template too heavy",
    )
    await council.sleep(days=2, minutes=1)
    state = await council.state()
    assert state.issue(1).resolved_at is not None and state.issue(2).is_open
    await council.sleep(days=2)
    state = await council.state()
    assert state.issue(2).is_open and state.round(3).outcome is not None
    assert state.status.value == "in_implementation"


async def test_an_extraordinary_meeting_request_is_recorded(council: Council) -> None:
    await council.proposed()
    receipt = await council.do(
        "request_meeting", "RUS", level="foreign_ministers", reason="Urgent threat"
    )
    assert receipt.event_types == ("ExtraordinaryMeetingRequested",)
    assert (await council.state()).meetings[0].requested_by == "RUS"


async def test_supersession_closes_the_workflow_and_its_whole_run_is_archived(
    council: Council,
) -> None:
    await council.planned()
    await council.do("supersede", "chair", superseded_by="d-berlin-2011")
    result = await council.closed()
    assert result.status == "superseded"
    [archived] = await council.store.archive.histories(council.decision_id)
    assert archived.workflow_id == f"decision-{council.decision_id}" and archived.event_count > 10
    events = parse_history(archived.history_json)
    assert events[-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED", "its end too"
    assert len(events) == archived.event_count


async def test_a_proposal_retried_with_its_key_gets_its_receipt_and_another_is_refused(
    council: Council,
) -> None:
    fields = {"title": "Action Plan", "text": "Draft", "area": "crisis_management"}
    first = await council.do("submit_proposal", "POL", key="proposal-1", **fields)

    assert await council.do("submit_proposal", "POL", key="proposal-1", **fields) == first
    await council.refused(Rule.DECISION_EXISTS, "submit_proposal", "USA", **fields)
    assert await council.types() == ["ProposalSubmitted"]


async def test_the_proposer_withdraws_and_later_commands_are_refused(council: Council) -> None:
    await council.forwarded()
    await council.round_open()
    await council.do("withdraw", "POL", reason="Overtaken by events")
    await council.decisions.handle(council.decision_id).result()
    await council.refused(Rule.WRONG_STATE, "request_meeting", "RUS", reason="r")
    await council.refused(
        Rule.DECISION_EXISTS,
        "submit_proposal",
        "USA",
        title="T",
        text="Again",
        area="crisis_management",
    )


async def test_a_deadline_extended_is_kept_though_the_alarm_set_for_the_old_one_rings(
    council: Council,
) -> None:
    """The run keeps the alarm set for the round's first deadline (workflows.clock): it rings
    then and must close nothing; the round is agreed by silence at its new deadline, not before,
    and no timer was cancelled for the move."""
    await council.forwarded()
    number = await council.round_open(days=2)
    handle = council.decisions.handle(council.decision_id)
    before = len((await handle.fetch_history()).events)
    new_deadline = await council.round_extended(number, days=5)
    await council.sleep(days=2, minutes=1)
    assert (await council.state()).status.value == "under_consensus"
    since = (await handle.fetch_history()).events[before:]
    timers = [e.event_type for e in since if "TIMER" in EventType.Name(e.event_type)]
    assert timers[:2] == [EventType.EVENT_TYPE_TIMER_FIRED, EventType.EVENT_TYPE_TIMER_STARTED], (
        "the alarm for the old deadline rang, and the next was set then"
    )
    assert EventType.EVENT_TYPE_TIMER_CANCELED not in timers

    await council.sleep(days=3)
    assert (await council.state()).status.value == "adopted"
    outcome = (await council.store.stream(council.decision_id))[-2]
    assert outcome.type == "ConsensusReached"
    assert outcome.occurred_at == new_deadline


async def test_suspension_pauses_the_silence_deadline_until_resumed(council: Council) -> None:
    await council.forwarded()
    await council.round_open(days=2)
    await council.do("suspend", "chair", reason="Consultations in capitals")
    await council.sleep(days=5)
    assert (await council.state()).status.value == "suspended"
    await council.do("resume", "chair")
    state = await council.state()
    assert state.status.value == "under_consensus"
    await council.sleep(days=2, minutes=1)
    assert (await council.state()).status.value == "adopted"


async def test_refused_commands_leave_no_trace_in_the_history(council: Council) -> None:
    await council.forwarded()
    number = await council.round_open(days=1)
    text_hash = (await council.state()).round(number).text_hash
    before_history = len(await council.updates_in_history())
    before_log = await council.types()
    await council.refused(
        Rule.NOT_ON_ROUND_ROSTER, "concur", "CHE", round=number, text_hash=text_hash
    )
    await council.refused(
        Rule.ACTING_FOR_ANOTHER,
        "break_silence",
        "RUS",
        principal="member:USA",
        round=number,
        text_hash=text_hash,
        reasons="r",
    )
    await council.refused(
        Rule.STALE_TEXT,
        "break_silence",
        "RUS",
        round=number,
        text_hash="sha256:" + "0" * 64,
        reasons="r",
    )
    assert len(await council.updates_in_history()) == before_history
    await council.sleep(days=1, minutes=1)
    after_deadline = len(await council.updates_in_history())
    await council.refused(
        Rule.NO_OPEN_ROUND,
        "break_silence",
        "RUS",
        round=number,
        text_hash=text_hash,
        reasons="late",
    )
    assert len(await council.updates_in_history()) == after_deadline
    assert "SilenceBroken" not in await council.types()
    assert before_log == (await council.types())[: len(before_log)]


async def test_repeating_a_command_with_its_key_returns_the_same_receipt(council: Council) -> None:
    await council.forwarded()
    number = await council.round_open()
    text_hash = (await council.state()).round(number).text_hash
    first = await council.do("concur", "USA", key="usa-1", round=number, text_hash=text_hash)
    again = await council.do("concur", "USA", key="usa-1", round=number, text_hash=text_hash)
    assert again == first
    assert (await council.types()).count("ConcurrenceRecorded") == 1


async def test_a_key_reused_for_another_command_is_refused_and_nothing_is_lost(
    council: Council,
) -> None:
    await council.forwarded()
    await council.round_open()
    await council.do("register_concern", "NOR", key="k-1", round=1, statement="Safeguards")

    with pytest.raises(InvalidInput, match="'k-1' was already used for another command"):
        await council.do("register_concern", "NOR", key="k-1", round=1, statement="Other")
    again = await council.do("register_concern", "NOR", key="k-1", round=1, statement="Safeguards")

    assert again.event_types == ("ConcernRegistered",)
    assert (await council.types()).count("ConcernRegistered") == 1
