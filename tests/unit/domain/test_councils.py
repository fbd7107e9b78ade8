"""A council as data: a decision names its body and roster day; imports record the council."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.council import COUNCIL_STREAM, Council, CouncilFileInvalid, checked_council
from domain.council_events import CouncilImport, folded_council
from domain.errors import InvalidInput, Refusal, Rule
from domain.nrc import NRC
from domain.roster import CHAIR
from domain.values import Status
from tests.unit.domain.scenario import Scenario

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
NORDIC_MEMBERS = ("DNK", "FIN", "ISL", "NOR", "SWE")


def nordic(**changes: Any) -> dict[str, Any]:
    """A five-member council's document, as a council file gives it."""
    document: dict[str, Any] = {
        "code": "NORDIC",
        "name": "Nordic Council of Ministers",
        "chair": {"title": "Secretary General"},
        "members": [{"code": c, "name": f"Member {c}"} for c in NORDIC_MEMBERS],
        "bodies": [
            {
                "code": "NCM-MIN",
                "name": "Ministers",
                "kind": "council",
                "level": "foreign_ministers",
                "cadence": {
                    "rule": "FREQ=MONTHLY;BYMONTHDAY=10;BYHOUR=9",
                    "at_least": {"sittings": 1, "per": "month"},
                },
            },
            {"code": "NCM-PC", "name": "Committee", "kind": "preparatory_committee"},
            {
                "code": "WG-ARCTIC",
                "name": "Arctic working group",
                "kind": "working_group",
                "members": ["ISL", "NOR", "SWE"],
            },
        ],
        "rosters": [
            {"version": 1, "effective_from": "2020-01-01", "members": list(NORDIC_MEMBERS)}
        ],
    }
    document.update(changes)
    return document


def nordic_scenario() -> Scenario:
    return Scenario(now=NOW, rosters=checked_council(nordic()).roster_book())


def test_a_council_of_five_takes_a_decision_in_its_own_bodies_with_no_nrc_data() -> None:
    s = nordic_scenario()
    s.proposed(proposer="NOR")
    assert s.s.body == "NCM-MIN"
    s.do("refer", CHAIR)
    assert s.s.review is not None and s.s.review.committee == "NCM-PC"
    s.do("complete_review", "NCM-PC", outcome="forward")
    s.do("open_round", CHAIR, deadline=s.later(days=7))
    assert s.s.rounds[0].members == NORDIC_MEMBERS
    s.answer(1, NORDIC_MEMBERS)
    assert s.s.status is Status.ADOPTED
    s.refused(Rule.NOT_ON_ROSTER, "raise_issue", "RUS", title="not a member here")


def test_a_working_groups_rounds_are_among_its_own_members() -> None:
    s = nordic_scenario()
    s.proposed(proposer="ISL", body="WG-ARCTIC")
    assert s.s.body == "WG-ARCTIC" and s.s.level is None
    s.do("refer", CHAIR)
    s.do("complete_review", CHAIR, outcome="forward")
    s.do("open_round", CHAIR, deadline=s.later(days=7))
    assert s.s.rounds[0].members == ("ISL", "NOR", "SWE")
    s.refused(
        Rule.NOT_ON_ROUND_ROSTER,
        "concur",
        "DNK",
        round=1,
        text_hash=s.s.rounds[0].text_hash,
    )


def test_only_a_bodys_members_propose_to_it_and_an_unknown_body_is_named_as_such() -> None:
    s = nordic_scenario()
    s.refused(
        Rule.NOT_ON_ROSTER,
        "submit_proposal",
        "DNK",
        title="t",
        text="x",
        area="crisis_management",
        body="WG-ARCTIC",
    )
    with pytest.raises(InvalidInput, match="no body NRC-AMB"):
        s.proposed(proposer="DNK", body="NRC-AMB")


@pytest.mark.parametrize(("day", "members"), [("2003-06-01", 20), ("2005-06-01", 27)])
def test_the_roster_day_a_decision_names_binds_its_rounds_not_the_clock(
    day: str, members: int
) -> None:
    s = Scenario(now=NOW)
    s.proposed(roster_on=day)
    s.round_open()
    assert len(s.s.rounds[0].members) == members
    assert s.s.rounds[0].roster_version == (1 if members == 20 else 2)
    assert s.events[0].model_dump()["roster_on"].isoformat() == day


def test_a_decision_naming_no_roster_day_stores_its_proposal_as_before() -> None:
    s = Scenario(now=NOW)
    s.proposed()
    from domain.events import event_payload

    assert "roster_on" not in event_payload(s.events[0])
    assert event_payload(s.events[0])["body"] == "NRC-AMB"


def test_a_roster_day_before_the_first_roster_is_refused() -> None:
    s = Scenario(now=NOW)
    refusal = s.refused(
        Rule.NOT_ON_ROSTER,
        "submit_proposal",
        "POL",
        title="t",
        text="x",
        area="crisis_management",
        roster_on="2001-01-01",
    )
    assert "2001-01-01" in refusal.message


def _import(recorded: Council | None, council: Council, version: int = 0) -> list[Any]:
    return CouncilImport(recorded, version, NOW, CHAIR, "operator:secretariat").changes(
        council, "nrc.yaml", "sha256:" + "0" * 64
    )


def test_importing_a_council_records_it_and_folding_the_events_gives_it_back() -> None:
    events = _import(None, NRC)
    assert [e.type for e in events[:5]] == [
        "CouncilFileImported",
        "CouncilConstituted",
        "CouncilScopeDefined",  # the NRC gives capitals a day
        "RosterVersionAdopted",
        "RosterVersionAdopted",
    ]
    assert {e.stream_id for e in events} == {COUNCIL_STREAM}
    assert [e.stream_version for e in events] == list(range(1, len(events) + 1))
    folded = folded_council(events)
    assert folded is not None
    assert folded.roster_book() == NRC.roster_book()
    assert folded.minimum_silence == NRC.minimum_silence


def test_importing_the_same_council_again_records_nothing() -> None:
    assert _import(NRC, NRC, version=12) == []


def test_a_new_roster_version_and_a_changed_cadence_are_recorded_as_such() -> None:
    before = checked_council(nordic())
    after_document = nordic()
    after_document["rosters"].append(
        {"version": 2, "effective_from": "2027-01-01", "members": ["DNK", "FIN", "NOR", "SWE"]}
    )
    after_document["bodies"][0]["cadence"]["rule"] = "FREQ=MONTHLY;BYMONTHDAY=20;BYHOUR=9"
    events = _import(before, checked_council(after_document), version=6)
    assert [e.type for e in events] == [
        "CouncilFileImported",
        "RosterVersionAdopted",
        "BodyChanged",
    ]
    assert events[1].version == 2 and events[2].changed == ("cadence",)
    assert events[0].stream_version == 7


def test_a_recorded_roster_version_cannot_be_rewritten_or_dropped() -> None:
    before = checked_council(nordic())
    rewritten = nordic()
    rewritten["rosters"][0]["members"] = ["DNK", "FIN"]
    with pytest.raises(Refusal, match="add a new version") as caught:
        _import(before, checked_council(rewritten))
    assert caught.value.rule is Rule.COUNCIL_CHANGE
    with pytest.raises(Refusal, match="cannot be imported"):
        _import(NRC, before)


def test_a_body_naming_an_unknown_member_is_refused_with_its_place() -> None:
    document = nordic()
    document["bodies"][2]["members"] = ["ISL", "XXX"]
    with pytest.raises(CouncilFileInvalid) as caught:
        checked_council(document)
    assert caught.value.problems == [
        (("bodies", 2, "members", 1), "unknown member XXX: not among the council's members")
    ]


def test_a_roster_day_without_a_roster_in_force_gives_no_roster() -> None:
    book = checked_council(nordic()).roster_book()
    assert book.on((NOW - timedelta(days=1)).date()).version == 1


def test_the_preparatory_committee_may_take_a_decision_of_its_own() -> None:
    s = nordic_scenario()
    s.proposed(proposer="DNK", body="NCM-PC")
    assert s.s.body == "NCM-PC" and s.s.level is None
