"""A silence procedure gives capitals time: a council (and each of its bodies) sets the
shortest silence a round may give, and a shorter deadline or extension is refused naming it."""

from __future__ import annotations

from datetime import timedelta

from domain.checks import Practice
from domain.errors import Rule
from domain.nrc import NRC, NRC_ROSTERS
from domain.roster import CHAIR
from tests.unit.domain.scenario import Scenario


def _with(minimum: timedelta, body_minimum: timedelta | None = None) -> Scenario:
    bodies = tuple(
        b.model_copy(update={"minimum_silence": body_minimum}) if b.code == "NRC-AMB" else b
        for b in NRC.bodies
    )
    council = NRC.model_copy(update={"minimum_silence": minimum, "bodies": bodies})
    return Scenario(rosters=council.roster_book())


DAY = timedelta(days=1)


def test_a_council_that_gives_capitals_a_day_refuses_a_shorter_round() -> None:
    s = _with(DAY)
    assert s.rosters.latest.silence_minimum("NRC-AMB") == DAY
    s.forwarded()
    refused = s.refused(Rule.SILENCE_TOO_SHORT, "open_round", CHAIR, deadline=s.later(seconds=1))
    assert refused.message.startswith(
        "a silence procedure of NRC-AMB lasts at least 1 day (its minimum silence period); "
        "deadline "
    )
    assert refused.message.endswith("is 1 second after the round's opening")
    s.round_open(days=1)  # a day exactly is enough
    assert s.s.rounds[-1].deadline - s.s.rounds[-1].opened_at == timedelta(days=1)


def test_a_body_sets_its_own_minimum_and_a_test_council_may_set_none() -> None:
    s = _with(timedelta(days=1), body_minimum=timedelta(hours=36)).forwarded()
    refused = s.refused(Rule.SILENCE_TOO_SHORT, "open_round", CHAIR, deadline=s.later(days=1))
    assert "NRC-AMB lasts at least 36 hours" in refused.message
    sandbox = _with(timedelta(0)).round_open(days=1 / 86_400)
    assert sandbox.s.status.value == "under_consensus"


def test_an_extension_keeps_the_round_at_least_the_minimum_from_its_opening() -> None:
    # A round opened when the council set no minimum, extended after it set one.
    before = _with(timedelta(0)).round_open(days=1 / 24)
    opened = before.s.round(1)
    after = Scenario(rosters=_with(DAY).rosters)
    after.state, after.now = before.state, before.now
    refused = after.refused(
        Rule.SILENCE_TOO_SHORT,
        "extend_deadline",
        CHAIR,
        target="round",
        round=1,
        new_deadline=opened.opened_at + timedelta(hours=2),
        reason="Capitals need time",
    )
    assert "new_deadline" in refused.message
    after.do(
        "extend_deadline",
        CHAIR,
        target="round",
        round=1,
        new_deadline=opened.opened_at + timedelta(days=1),
        reason="Capitals need time",
    )


def test_a_decision_that_started_before_the_rule_keeps_its_practice() -> None:
    s = Scenario(rosters=_with(DAY).rosters, practice=Practice(council_rules=False)).forwarded()
    s.round_open(days=1 / 86_400)
    assert s.s.status.value == "under_consensus"


def test_an_issue_resolution_is_a_silence_procedure_too() -> None:
    s = _with(timedelta(0)).round_open(days=1)
    s.answer(1, NRC_ROSTERS.latest.member_codes)
    s.do(
        "plan_implementation",
        CHAIR,
        action_items=[{"item_id": "A1", "description": "d", "assignee": {"kind": "all_members"}}],
        report_back_deadline=s.later(days=90),
    )
    s.do("raise_issue", "RUS", title="Scope unclear")
    strict = Scenario(rosters=_with(DAY).rosters)
    strict.state, strict.now = s.state, s.now
    strict.refused(
        Rule.SILENCE_TOO_SHORT,
        "propose_issue_resolution",
        CHAIR,
        issue=1,
        text="Read it narrowly",
        deadline=strict.later(hours=1),
    )
