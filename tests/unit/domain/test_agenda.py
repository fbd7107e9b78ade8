"""A sitting's agenda is what is pending at its instant; compliance counts sittings per period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.agenda import agenda_for, meeting_id, periods_held
from domain.cadence import Cadence, MinimumFrequency, Period
from domain.nrc import NRC
from domain.roster import CHAIR, Body, levels_of
from domain.values import SYSTEM, AgendaItemKind
from tests.unit.domain.scenario import Scenario


def body(code: str) -> Body:
    found = NRC.body(code)
    assert found is not None
    return found


def test_a_referred_proposal_is_on_its_committees_agenda_until_forwarded() -> None:
    s = Scenario().proposed()
    at = s.now + timedelta(hours=1)
    assert agenda_for(body("PC"), [s.s], at, None) == []
    s.do("refer", CHAIR)
    [item] = agenda_for(body("PC"), [s.s], at, None)
    assert (item.decision_id, item.item) == (s.decision_id, AgendaItemKind.PROPOSAL_FOR_REVIEW)
    assert agenda_for(body("NRC-AMB"), [s.s], at, None) == []
    s.do("complete_review", CHAIR, outcome="forward")
    assert agenda_for(body("PC"), [s.s], at, None) == []


def test_a_round_is_on_its_bodys_agenda_when_it_closes_before_the_next_sitting() -> None:
    s = Scenario().round_open(days=10)
    sitting = s.now + timedelta(days=1)
    assert agenda_for(body("NRC-AMB"), [s.s], sitting, sitting + timedelta(days=5)) == []
    [item] = agenda_for(body("NRC-AMB"), [s.s], sitting, sitting + timedelta(days=30))
    assert item.item is AgendaItemKind.ROUND_CLOSING and "round 1" in item.detail
    assert agenda_for(body("NRC-FM"), [s.s], sitting, sitting + timedelta(days=30)) == []


def test_issues_report_backs_and_requests_reach_the_deciding_body() -> None:
    s = Scenario().planned()
    s.do("raise_issue", "POL", title="Uneven contributions")
    s.do("request_meeting", "RUS", reason="Urgent")
    sitting = s.now + timedelta(hours=1)
    kinds = [
        i.item for i in agenda_for(body("NRC-AMB"), [s.s], sitting, s.now + timedelta(days=200))
    ]
    assert kinds == [
        AgendaItemKind.IMPLEMENTATION_ISSUE,
        AgendaItemKind.REPORT_BACK_DUE,
        AgendaItemKind.EXTRAORDINARY_REQUEST,
    ]
    near = agenda_for(body("NRC-AMB"), [s.s], sitting, sitting + timedelta(days=30))
    assert AgendaItemKind.REPORT_BACK_DUE not in [i.item for i in near]


def test_a_request_reaches_the_council_at_the_level_it_asks_for() -> None:
    s = Scenario().planned()
    s.do("request_meeting", "RUS", level="foreign_ministers", reason="Ministers must decide")
    sitting = s.now + timedelta(hours=1)
    levels = levels_of(NRC.bodies)

    [item] = agenda_for(body("NRC-FM"), [s.s], sitting, None, levels)
    assert item.item is AgendaItemKind.EXTRAORDINARY_REQUEST
    assert item.detail == "request 1 by RUS: Ministers must decide"
    for other in ("NRC-AMB", "NRC-DM", "PC"):
        kinds = [i.item for i in agenda_for(body(other), [s.s], sitting, None, levels)]
        assert AgendaItemKind.EXTRAORDINARY_REQUEST not in kinds, other


def test_a_request_for_a_level_the_council_lacks_reaches_the_decisions_own_body() -> None:
    s = Scenario().planned()
    s.do("request_meeting", "RUS", level="foreign_ministers", reason="Ministers must decide")
    sitting = s.now + timedelta(hours=1)
    without_ministers = levels_of(b for b in NRC.bodies if b.code != "NRC-FM")

    kinds = [i.item for i in agenda_for(body("NRC-AMB"), [s.s], sitting, None, without_ministers)]
    assert AgendaItemKind.EXTRAORDINARY_REQUEST in kinds


def test_a_decision_proposed_after_the_sitting_is_not_on_its_agenda() -> None:
    s = Scenario().proposed()
    s.do("refer", CHAIR)
    assert agenda_for(body("PC"), [s.s], s.now - timedelta(days=1), None) == []


def test_a_sittings_id_names_its_body_and_instant() -> None:
    at = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
    assert meeting_id("NRC-AMB", at) == "meeting.nrc-amb-20261209t1000z"
    assert meeting_id("PC", at, extraordinary=True) == "meeting.pc-20261209t1000z-x"


def test_each_period_below_the_minimum_is_flagged() -> None:
    twice_monthly = Cadence(
        rule="FREQ=MONTHLY;BYDAY=2WE,4WE;BYHOUR=10",
        at_least=MinimumFrequency(sittings=2, per=Period.MONTH),
    )
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    held = twice_monthly.sittings_between(NRC.anchor, start, end)
    assert len(held) == 24
    assert not any(p.short for p in periods_held(twice_monthly, held, start, end))
    missed = [s for s in held if s.month != 3 or s.day < 14]
    short = [p for p in periods_held(twice_monthly, missed, start, end) if p.short]
    assert [(p.start.month, p.held, p.required) for p in short] == [(3, 1, 2)]
    assert periods_held(Cadence(), held, start, end) == []


def test_a_sittings_record_names_members_of_its_body_and_items_of_its_agenda() -> None:
    from domain.agenda import AgendaItem
    from domain.council_events import ItemOutcome, SittingConvened, SittingKind, sitting_record
    from domain.errors import InvalidInput, Refusal

    at = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)
    sitting = SittingConvened(
        stream_id=meeting_id("PC", at),
        stream_version=1,
        occurred_at=at,
        actor=CHAIR,
        recorded_by="system:meetings",
        body="PC",
        sitting_at=at,
        kind=SittingKind.REGULAR,
        agenda=(
            AgendaItem(decision_id="d-1", item=AgendaItemKind.PROPOSAL_FOR_REVIEW, detail="r1"),
        ),
    )
    members = ("POL", "RUS", "USA")
    later = at + timedelta(hours=2)
    forwarded = ItemOutcome(
        decision_id="d-1", item=AgendaItemKind.PROPOSAL_FOR_REVIEW, outcome="Forwarded"
    )
    kept = sitting_record(
        sitting, False, members, ("USA", "POL"), (forwarded,), later, "operator:secretariat"
    )
    assert kept.present == ("POL", "USA") and kept.stream_version == 2
    with pytest.raises(Refusal, match="not a member of PC"):
        sitting_record(sitting, False, members, ("GBR",), (), later, "operator:secretariat")
    other = forwarded.model_copy(update={"decision_id": "d-2"})
    with pytest.raises(InvalidInput, match="not on the agenda"):
        sitting_record(sitting, False, members, ("POL",), (other,), later, "operator:secretariat")
    with pytest.raises(Refusal, match="record it after"):
        sitting_record(sitting, False, members, ("POL",), (), at - timedelta(1), "operator:x")
    with pytest.raises(Refusal, match="recorded already"):
        sitting_record(sitting, True, members, ("POL",), (), later, "operator:secretariat")


def taken_up(s: Scenario, code: str, sitting: datetime, detail: str = "request 1") -> None:
    """A sitting of `code` at `sitting` puts the decision's request on its agenda."""
    s.do(
        "schedule_agenda_item",
        SYSTEM,
        "system:meetings",
        meeting_id=meeting_id(code, sitting),
        body=code,
        sitting_at=sitting.isoformat(),
        item=AgendaItemKind.EXTRAORDINARY_REQUEST.value,
        detail=detail,
    )


def requests_before(code: str, s: Scenario, sitting: datetime) -> list[str]:
    levels = levels_of(NRC.bodies)
    return [
        i.detail
        for i in agenda_for(body(code), [s.s], sitting, None, levels)
        if i.item is AgendaItemKind.EXTRAORDINARY_REQUEST
    ]


def test_a_request_a_sitting_took_up_is_on_no_later_agenda_of_its_body() -> None:
    s = Scenario().planned()
    s.do("request_meeting", "RUS", reason="Urgent")
    first = s.now + timedelta(days=1)
    assert requests_before("NRC-AMB", s, first) == ["request 1 by RUS: Urgent"]
    s.advance(days=1)
    taken_up(s, "NRC-AMB", first)

    assert requests_before("NRC-AMB", s, first + timedelta(days=30)) == []
    assert requests_before("NRC-AMB", s, first) == []  # the same instant: taken up already
    s.advance(days=3)
    s.do("request_meeting", "USA", reason="Again")
    assert requests_before("NRC-AMB", s, s.now + timedelta(days=1)) == ["request 2 by USA: Again"]


def test_a_request_stays_until_a_sitting_at_or_after_it_of_the_body_asked_takes_it_up() -> None:
    s = Scenario().planned()
    before = s.now - timedelta(hours=1)
    s.do("request_meeting", "RUS", reason="Urgent")
    s.do("request_meeting", "USA", level="foreign_ministers", reason="Ministers")
    s.advance(hours=2)
    taken_up(s, "NRC-AMB", before)  # an earlier sitting, recorded late, did not take it up
    later = s.now + timedelta(days=7)
    assert requests_before("NRC-AMB", s, later) == ["request 1 by RUS: Urgent"]

    taken_up(s, "NRC-AMB", s.now)
    assert requests_before("NRC-AMB", s, later) == []
    assert requests_before("NRC-AMB", s, s.now - timedelta(minutes=1)) == [
        "request 1 by RUS: Urgent"
    ]
    assert requests_before("NRC-FM", s, later) == ["request 2 by USA: Ministers"]
