"""Consensus under silence procedure: rounds open, members answer, rounds close."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.decider import Practice
from domain.errors import InvalidInput, Rule
from domain.roster import CHAIR
from domain.values import RoundOutcome, Status
from tests.unit.domain.scenario import Scenario


def test_a_round_opens_on_the_forwarded_revision_with_a_roster_snapshot() -> None:
    s = Scenario().forwarded()
    [event] = s.do("open_round", CHAIR, deadline=s.later(days=7))
    assert event.type == "ConsensusRoundOpened"
    assert event.round == 1 and event.revision == 1
    assert len(event.members) == 27 and "RUS" in event.members and "chair" not in event.members
    assert s.s.status is Status.UNDER_CONSENSUS


def test_a_round_needs_the_chair_a_forwarded_text_and_a_future_deadline() -> None:
    s = Scenario().proposed()
    s.do("refer", CHAIR)
    s.refused(Rule.REVIEW_NOT_FORWARDED, "open_round", CHAIR, deadline=s.later(days=7))
    s.do("complete_review", CHAIR, outcome="forward")
    s.refused(Rule.WRONG_ROLE, "open_round", "USA", deadline=s.later(days=7))
    s.refused(Rule.DEADLINE_IN_PAST, "open_round", CHAIR, deadline=s.later(seconds=-1))


def test_the_round_is_adopted_when_silence_expires_without_objection() -> None:
    s = Scenario().round_open(days=7)
    s.refused(Rule.DEADLINE_NOT_REACHED, "close_round", "system", principal="system:clock", round=1)
    s.advance(days=7)
    produced = s.do("close_round", "system", principal="system:clock", round=1)
    assert [e.type for e in produced] == ["ConsensusReached", "DecisionAdopted"]
    assert produced[0].outcome is RoundOutcome.ADOPTED_BY_SILENCE
    assert s.s.status is Status.ADOPTED and s.s.adopted_round == 1


def test_the_round_is_adopted_at_once_when_every_member_has_concurred() -> None:
    s = Scenario().round_open()
    members = s.s.round(1).members
    s.answer(1, members[:-1])
    assert s.s.status is Status.UNDER_CONSENSUS
    produced = s.do("concur", members[-1], round=1, text_hash=s.s.round(1).text_hash)
    assert [e.type for e in produced] == [
        "ConcurrenceRecorded",
        "ConsensusReached",
        "DecisionAdopted",
    ]
    assert produced[1].outcome is RoundOutcome.ADOPTED_BY_UNANIMOUS_CONCURRENCE


def test_an_objection_standing_at_the_deadline_fails_the_round_and_returns_to_review() -> None:
    s = Scenario().round_open()
    h = s.s.round(1).text_hash
    s.do("break_silence", "RUS", round=1, text_hash=h, reasons="Definition of terrorism")
    s.advance(days=7)
    produced = s.do("close_round", "system", principal="system:clock", round=1)
    assert [e.type for e in produced] == ["ConsensusFailed"]
    assert produced[0].objectors == ("RUS",)
    assert s.s.status is Status.IN_REVIEW and s.s.failed_rounds == 1


def test_the_failed_text_must_be_amended_before_a_second_round() -> None:
    s = Scenario().round_open()
    s.do("break_silence", "RUS", round=1, text_hash=s.s.round(1).text_hash, reasons="No")
    s.do("close_round", CHAIR, round=1)
    s.refused(Rule.TEXT_ALREADY_FAILED, "complete_review", CHAIR, outcome="forward")
    s.do("complete_review", CHAIR, outcome="amend", text="Amended after objection")
    s.do("open_round", CHAIR, deadline=s.later(days=5))
    assert s.s.round(2).revision == 2
    s.advance(days=5)
    s.do("close_round", "system", principal="system:clock", round=2)
    assert s.s.status is Status.ADOPTED


def test_the_chair_closes_early_only_a_round_with_a_standing_objection() -> None:
    s = Scenario().round_open()
    s.refused(Rule.NO_STANDING_OBJECTION, "close_round", CHAIR, round=1)
    s.refused(Rule.WRONG_ROLE, "close_round", "USA", round=1)
    s.do("break_silence", "TUR", round=1, text_hash=s.s.round(1).text_hash, reasons="r")
    [event] = s.do("close_round", CHAIR, round=1)
    assert event.closed_by == "chair"


def test_a_withdrawn_objection_lets_the_round_adopt_by_silence() -> None:
    s = Scenario().round_open()
    h = s.s.round(1).text_hash
    s.do("break_silence", "RUS", round=1, text_hash=h, reasons="Wording")
    s.refused(Rule.NOT_OBJECTING, "withdraw_objection", "USA", round=1)
    s.do("withdraw_objection", "RUS", round=1)
    s.advance(days=7)
    s.do("close_round", "system", principal="system:clock", round=1)
    assert s.s.status is Status.ADOPTED


def test_the_proposal_lapses_after_the_maximum_number_of_failed_rounds() -> None:
    s = Scenario().proposed(max_failed_rounds=2)
    s.forwarded()
    for n in (1, 2):
        s.do("open_round", CHAIR, deadline=s.later(days=3))
        s.do("break_silence", "FRA", round=n, text_hash=s.s.round(n).text_hash, reasons="r")
        produced = s.do("close_round", CHAIR, round=n)
        if n == 1:
            s.do("complete_review", CHAIR, outcome="amend", text=f"revision {n + 1}")
    assert [e.type for e in produced] == ["ConsensusFailed", "DecisionLapsed"]
    assert s.s.status is Status.LAPSED
    s.refused(Rule.WRONG_STATE, "request_meeting", "FRA", reason="r")


def test_answers_are_refused_from_outside_the_round_roster_or_in_anothers_name() -> None:
    s = Scenario().round_open()
    h = s.s.round(1).text_hash
    s.refused(Rule.NOT_ON_ROUND_ROSTER, "concur", "CHE", round=1, text_hash=h)
    s.refused(Rule.NOT_ON_ROUND_ROSTER, "concur", CHAIR, round=1, text_hash=h)
    s.refused(
        Rule.ACTING_FOR_ANOTHER,
        "break_silence",
        "RUS",
        principal="member:USA",
        round=1,
        text_hash=h,
        reasons="r",
    )
    s.refused(Rule.NO_SUCH_ROUND, "concur", "USA", round=9, text_hash=h)


def test_the_chair_can_never_block_consensus() -> None:
    s = Scenario().round_open()
    refusal = s.refused(
        Rule.CHAIR_CANNOT_BLOCK,
        "break_silence",
        CHAIR,
        round=1,
        text_hash=s.s.round(1).text_hash,
        reasons="r",
    )
    assert "cannot break silence" in refusal.message


def test_an_objection_needs_reasons_and_must_be_on_the_current_text() -> None:
    s = Scenario().round_open()
    h = s.s.round(1).text_hash
    s.refused(Rule.REASONS_REQUIRED, "break_silence", "RUS", round=1, text_hash=h, reasons="  ")
    stale = "sha256:" + "0" * 64
    s.refused(Rule.STALE_TEXT, "break_silence", "RUS", round=1, text_hash=stale, reasons="r")
    s.refused(Rule.STALE_TEXT, "concur", "RUS", round=1, text_hash=stale)


def test_late_answers_are_refused_once_the_deadline_has_passed() -> None:
    s = Scenario().round_open(days=1)
    s.advance(days=1)
    s.refused(
        Rule.DEADLINE_PASSED,
        "break_silence",
        "RUS",
        round=1,
        text_hash=s.s.round(1).text_hash,
        reasons="late",
    )


def test_duplicate_answers_are_refused() -> None:
    s = Scenario().round_open()
    h = s.s.round(1).text_hash
    s.do("concur", "USA", round=1, text_hash=h)
    s.refused(Rule.ALREADY_CONCURRED, "concur", "USA", round=1, text_hash=h)
    s.do("break_silence", "RUS", round=1, text_hash=h, reasons="r")
    s.refused(Rule.ALREADY_OBJECTING, "break_silence", "RUS", round=1, text_hash=h, reasons="r")
    s.refused(Rule.ALREADY_OBJECTING, "concur", "RUS", round=1, text_hash=h)


def test_a_member_that_concurred_may_still_break_silence_before_the_deadline() -> None:
    s = Scenario().round_open()
    h = s.s.round(1).text_hash
    s.do("concur", "GRC", round=1, text_hash=h)
    s.do("break_silence", "GRC", round=1, text_hash=h, reasons="New instructions")
    assert "GRC" not in s.s.round(1).concurred and "GRC" in s.s.round(1).objections


def test_concerns_do_not_block_and_are_attached_to_the_adoption() -> None:
    s = Scenario().round_open()
    with pytest.raises(InvalidInput, match="statement: must not be empty"):
        s.do("register_concern", "NOR", round=1, statement=" ")
    s.do("register_concern", "NOR", round=1, statement="Human rights safeguards")
    s.advance(days=7)
    produced = s.do("close_round", "system", principal="system:clock", round=1)
    assert produced[-1].type == "DecisionAdopted"
    assert produced[-1].concerns == ("NOR: Human rights safeguards",)
    assert s.s.concerns[0].member == "NOR"


def test_the_chair_extends_a_round_deadline_with_a_reason_to_a_later_instant() -> None:
    s = Scenario().round_open(days=2, reminder_before_seconds=86_400)
    old = s.s.round(1).deadline
    s.refused(
        Rule.WRONG_ROLE,
        "extend_deadline",
        "USA",
        target="round",
        round=1,
        new_deadline=s.later(days=5),
        reason="r",
    )
    s.refused(
        Rule.DEADLINE_NOT_LATER,
        "extend_deadline",
        CHAIR,
        target="round",
        round=1,
        new_deadline=s.later(days=1),
        reason="r",
    )
    with pytest.raises(InvalidInput, match="reason: must not be empty"):
        s.do(
            "extend_deadline",
            CHAIR,
            target="round",
            round=1,
            new_deadline=s.later(days=5),
            reason="",
        )
    [event] = s.do(
        "extend_deadline",
        CHAIR,
        target="round",
        round=1,
        new_deadline=s.later(days=5),
        reason="Capitals need time",
    )
    assert event.previous_deadline == old
    assert s.s.round(1).deadline == event.new_deadline
    assert s.s.round(1).reminder_at == event.new_deadline - timedelta(days=1)


def test_answers_on_a_closed_round_are_refused() -> None:
    s = Scenario().adopted()
    s.refused(
        Rule.NO_OPEN_ROUND,
        "break_silence",
        "RUS",
        round=1,
        text_hash=s.s.round(1).text_hash,
        reasons="too late",
    )


def test_a_deadline_beyond_the_latest_is_refused_as_input_and_one_at_it_survives_suspension() -> (
    None
):
    from datetime import timedelta

    from pydantic import ValidationError

    from domain.values import LATEST_DEADLINE

    s = Scenario().forwarded()
    with pytest.raises(ValidationError, match="must be no later than 2999-12-31"):
        s.command("open_round", CHAIR, deadline=(LATEST_DEADLINE + timedelta(days=1)).isoformat())
    s.do("open_round", CHAIR, deadline=LATEST_DEADLINE.isoformat())
    s.do("suspend", CHAIR, reason="Consultations")
    s.advance(days=400)
    s.do("resume", CHAIR)
    assert s.s.round(1).deadline == LATEST_DEADLINE + timedelta(days=400)


def test_a_round_agreed_by_every_members_concurrence_is_the_procedures_outcome() -> None:
    from domain.decider import decide
    from domain.values import PROCEDURE_PRINCIPAL, SYSTEM

    s = Scenario().round_open()
    members = s.s.rounds[0].members
    s.answer(1, members[:-1])
    last = s.command("concur", members[-1], round=1, text_hash=s.s.rounds[0].text_hash)

    concurred, reached, adopted = decide(s.s, last, s.now, s.rosters)
    as_before = decide(s.s, last, s.now, s.rosters, practice=Practice(outcomes_by_procedure=False))

    assert (concurred.actor, concurred.recorded_by) == (members[-1], f"member:{members[-1]}")
    assert {(e.actor, e.recorded_by) for e in (reached, adopted)} == {(SYSTEM, PROCEDURE_PRINCIPAL)}
    assert {e.actor for e in as_before} == {members[-1]}, "histories from before replay as stored"


def test_a_round_that_does_not_exist_is_named_with_the_rounds_there_are() -> None:
    none_yet = Scenario().forwarded()
    refusal = none_yet.refused(
        Rule.NO_SUCH_ROUND, "concur", "USA", round=1, text_hash="sha256:" + "0" * 64
    )
    assert refusal.message.endswith("has no round 1: it has had no round yet")
    one = Scenario().round_open()
    refusal = one.refused(
        Rule.NO_SUCH_ROUND, "concur", "USA", round=3, text_hash=one.s.round(1).text_hash
    )
    assert refusal.message.endswith("has no round 3: its rounds are 1 to 1")
