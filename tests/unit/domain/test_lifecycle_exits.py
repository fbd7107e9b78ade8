"""Completion, withdrawal, supersession, suspension and resumption, and meeting requests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.decider import Practice
from domain.errors import InvalidInput, Rule
from domain.events import event_payload
from domain.roster import CHAIR
from domain.values import RoundOutcome, Status
from tests.unit.domain.scenario import Scenario

SYSTEM = {"principal": "system:clock"}


def test_a_decision_completes_only_when_items_are_done_and_issues_settled() -> None:
    s = Scenario().planned()
    s.do("complete_action_item", CHAIR, item_id="A1")
    s.refused(Rule.ITEM_COMPLETED, "complete_action_item", CHAIR, item_id="A1")
    s.refused(Rule.ITEMS_OUTSTANDING, "complete", CHAIR)
    s.do("complete_action_item", "RUS", item_id="A2")
    s.do("complete_action_item", "PC", item_id="A3")
    s.do("raise_issue", "POL", title="Uneven reporting")
    s.refused(Rule.ISSUES_OPEN, "complete", CHAIR)
    s.do(
        "propose_issue_resolution",
        CHAIR,
        issue=1,
        text="Report quarterly",
        deadline=s.later(days=3),
    )
    s.advance(days=3)
    s.do("close_round", "system", round=2, **SYSTEM)
    s.refused(Rule.WRONG_ROLE, "complete", "POL")
    s.do("complete", CHAIR, summary="All items done")
    assert s.s.status is Status.COMPLETED and s.s.rounds[-1].outcome is not None


def test_the_proposer_withdraws_before_adoption_and_open_rounds_are_cancelled() -> None:
    s = Scenario().round_open()
    s.refused(Rule.NOT_PROPOSER, "withdraw", "RUS")
    s.refused(Rule.NOT_PROPOSER, "withdraw", CHAIR)
    s.do("withdraw", "POL", reason="Overtaken by events")
    assert s.s.status is Status.WITHDRAWN
    assert s.s.round(1).outcome is RoundOutcome.CANCELLED
    s.refused(Rule.WRONG_STATE, "withdraw", "POL")


def test_an_adopted_decision_can_no_longer_be_withdrawn() -> None:
    s = Scenario().adopted()
    s.refused(Rule.WRONG_STATE, "withdraw", "POL")


def test_a_later_decision_supersedes_an_adopted_or_completed_one() -> None:
    s = Scenario().planned()
    s.refused(Rule.SELF_SUPERSESSION, "supersede", CHAIR, superseded_by="d-terrorism")
    s.refused(Rule.WRONG_ROLE, "supersede", "USA", superseded_by="d-2011")
    [event] = s.do("supersede", CHAIR, superseded_by="d-2011", reason="Berlin 2011")
    assert s.s.status is Status.SUPERSEDED and s.s.superseded_by == "d-2011"
    assert event.superseded_by == "d-2011"

    proposal = Scenario().proposed()
    proposal.refused(Rule.WRONG_STATE, "supersede", CHAIR, superseded_by="d-2011")


def test_a_successor_that_lapsed_or_was_withdrawn_is_said_so_when_it_would_supersede() -> None:
    lapsed = Scenario("d-2011").proposed(max_failed_rounds=1).round_open(days=3)
    lapsed.do("break_silence", "FRA", round=1, text_hash=lapsed.s.round(1).text_hash, reasons="r")
    lapsed.do("close_round", CHAIR, round=1)
    assert lapsed.s.status is Status.LAPSED
    withdrawn = Scenario("d-2012").proposed()
    withdrawn.do("withdraw", "POL", reason="Overtaken by events")
    for successor, said in ((lapsed, "d-2011 lapsed"), (withdrawn, "d-2012 was withdrawn")):
        refusal = successor.refused(
            Rule.SUCCESSOR_NOT_ADOPTED, "record_supersession", CHAIR, supersedes="d-terrorism"
        )
        assert refusal.message.startswith(f"{said}: only an adopted decision")
        assert "takes no further commands" not in refusal.message


def test_suspension_pauses_the_clock_and_resumption_moves_deadlines_by_the_pause() -> None:
    s = Scenario().round_open(days=7)
    deadline = s.s.round(1).deadline
    s.advance(days=2)
    s.refused(Rule.WRONG_ROLE, "suspend", "RUS", reason="r")
    s.do("suspend", CHAIR, reason="Consultations in capitals")
    assert s.s.status is Status.SUSPENDED
    s.refused(Rule.WRONG_STATE, "concur", "USA", round=1, text_hash=s.s.round(1).text_hash)
    s.refused(Rule.WRONG_STATE, "suspend", CHAIR, reason="again")
    s.advance(days=10)
    s.do("request_meeting", "RUS", reason="Resume talks")
    [event] = s.do("resume", CHAIR)
    assert event.paused_seconds == 10 * 86_400
    assert s.s.status.value == "under_consensus"
    assert (s.s.round(1).deadline - deadline).days == 10
    s.refused(Rule.NOT_SUSPENDED, "resume", CHAIR)
    s.answer(1, s.s.round(1).members)
    assert s.s.status.value == "adopted"


def test_a_suspended_decision_neither_supersedes_nor_is_superseded_until_resumed() -> None:
    superseded = Scenario().planned()
    superseded.do("suspend", CHAIR, reason="Consultations in capitals")
    refusal = superseded.refused(Rule.WRONG_STATE, "supersede", CHAIR, superseded_by="d-2011")
    assert "suspended; the chair must resume it first" in refusal.message
    successor = Scenario("d-2011").adopted()
    successor.do("suspend", CHAIR, reason="Consultations in capitals")
    successor.refused(Rule.WRONG_STATE, "record_supersession", CHAIR, supersedes="d-terrorism")
    superseded.do("resume", CHAIR)
    superseded.do("supersede", CHAIR, superseded_by="d-2011")
    assert superseded.s.status is Status.SUPERSEDED
    # Before the amendment of 2026-12-06, a suspended decision was superseded as any other.
    before = Scenario(practice=Practice(amended_2026_12_06=False)).planned()
    before.do("suspend", CHAIR, reason="Consultations in capitals")
    before.do("supersede", CHAIR, superseded_by="d-2011")


def test_a_pause_moves_deadlines_by_the_pause_to_the_microsecond() -> None:
    s = Scenario().round_open(days=7)
    deadline = s.s.round(1).deadline
    s.do("suspend", CHAIR, reason="Consultations in capitals")
    s.advance(seconds=10.28)
    [event] = s.do("resume", CHAIR)
    assert (event.paused_seconds, event.paused_microseconds) == (10, 10_280_000)
    assert s.s.round(1).deadline - deadline == timedelta(seconds=10.28)
    before = Scenario(practice=Practice(amended_2026_12_06=False)).round_open(days=7)
    before.do("suspend", CHAIR, reason="Consultations in capitals")
    before.advance(seconds=10.28)
    [event] = before.do("resume", CHAIR)
    assert event.paused_microseconds is None, "stored as before: the same bytes replay"
    assert "paused_microseconds" not in event_payload(event)
    assert before.s.round(1).deadline - deadline == timedelta(seconds=10)


def test_a_terminal_decision_takes_no_further_commands() -> None:
    s = Scenario().proposed()
    s.do("withdraw", "POL")
    refusal = s.refused(Rule.WRONG_STATE, "refer", CHAIR)
    assert "withdrawn" in refusal.message


def test_any_member_or_the_chair_may_request_an_extraordinary_meeting() -> None:
    s = Scenario().proposed()
    s.do("request_meeting", "RUS", level="foreign_ministers", reason="Urgent threat")
    s.do("request_meeting", CHAIR, reason="Convene ambassadors")
    s.refused(Rule.WRONG_ROLE, "request_meeting", "PC", reason="r")
    with pytest.raises(InvalidInput, match="reason"):
        s.do("request_meeting", "USA", reason="")
    assert [m.requested_by for m in s.s.meetings] == ["RUS", CHAIR]
