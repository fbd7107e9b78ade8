"""Proposal and Preparatory Committee review: who may do what, and what each step records."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.decider import Practice
from domain.errors import InvalidInput, Rule
from domain.nrc import ENLARGEMENT_2004
from domain.roster import CHAIR, Body, Roster, RosterBook
from domain.values import Status, text_hash
from tests.unit.domain.scenario import TEXT, Scenario


def test_a_member_proposal_records_the_text_hash_roster_version_and_council_body() -> None:
    s = Scenario().proposed("POL")
    [event] = s.events
    assert event.type == "ProposalSubmitted"
    assert (event.actor, event.recorded_by, event.stream_version) == ("POL", "member:POL", 1)
    assert event.text_hash == text_hash(TEXT)
    assert (event.roster_version, event.body) == (2, "NRC-AMB")
    assert s.s.status is Status.PROPOSED and s.s.proposer == "POL"


def test_only_member_states_propose_not_the_chair_a_body_or_a_non_member() -> None:
    refusal = Scenario().refused(
        Rule.WRONG_ROLE, "submit_proposal", CHAIR, title="t", text="x", area="crisis_management"
    )
    assert "only member states submit proposals" in refusal.message
    # A decision started before the amendment of 2026-12-06 is decided as it was then.
    Scenario(practice=Practice(amended_2026_12_06=False)).proposed(CHAIR)
    Scenario().refused(
        Rule.WRONG_ROLE, "submit_proposal", "PC", title="t", text="x", area="crisis_management"
    )
    refusal = Scenario().refused(
        Rule.NOT_ON_ROSTER, "submit_proposal", "CHE", title="t", text="x", area="crisis_management"
    )
    assert "CHE is not on roster version 2" in refusal.message


def test_a_state_that_joined_in_2004_cannot_propose_before_its_accession() -> None:
    from datetime import UTC, datetime

    s = Scenario(now=datetime(2003, 6, 1, tzinfo=UTC))
    s.refused(
        Rule.NOT_ON_ROSTER, "submit_proposal", "EST", title="t", text="x", area="crisis_management"
    )


def test_an_area_agreed_by_mutual_agreement_needs_a_label() -> None:
    with pytest.raises(InvalidInput, match="area_label: required when the area is 'other'"):
        Scenario().proposed(area="other")
    s = Scenario().proposed(area="other", area_label="Airspace controls")
    assert s.s.area_label == "Airspace controls"


def test_a_member_may_not_propose_in_another_members_name() -> None:
    refusal = Scenario().refused(
        Rule.ACTING_FOR_ANOTHER,
        "submit_proposal",
        "RUS",
        principal="member:POL",
        title="t",
        text="x",
        area="crisis_management",
    )
    assert refusal.message == "member POL may act only in its own name, not as RUS"


def test_a_proposal_cannot_be_submitted_twice_and_others_need_a_proposal() -> None:
    s = Scenario()
    s.refused(Rule.NO_SUCH_DECISION, "refer", CHAIR)
    s.proposed()
    s.refused(
        Rule.DECISION_EXISTS,
        "submit_proposal",
        "POL",
        title="t",
        text="x",
        area="crisis_management",
    )


def test_referral_by_the_chair_sets_a_fourteen_day_review_deadline_by_default() -> None:
    s = Scenario().proposed()
    s.refused(Rule.WRONG_ROLE, "refer", "POL")
    [event] = s.do("refer", CHAIR)
    assert event.type == "ReferredToPreparatoryCommittee"
    assert event.committee == "PC"
    assert (event.review_deadline - s.now).days == 14
    assert s.s.status is Status.IN_REVIEW


def test_a_review_deadline_in_the_past_is_refused() -> None:
    s = Scenario().proposed()
    s.refused(Rule.DEADLINE_IN_PAST, "refer", CHAIR, review_deadline=s.later(days=-1))


def test_before_referral_only_the_proposer_or_chair_amends_and_the_text_must_change() -> None:
    s = Scenario().proposed("POL")
    s.refused(Rule.NOT_PROPOSER, "amend", "RUS", text="other")
    s.refused(Rule.TEXT_UNCHANGED, "amend", "POL", text=TEXT)
    [event] = s.do("amend", "POL", text="A better text")
    assert event.revision == 2 and s.s.current_revision.text == "A better text"


def test_in_review_the_committee_or_chair_amends_not_the_proposer() -> None:
    s = Scenario().proposed("POL")
    s.do("refer", CHAIR)
    s.refused(Rule.WRONG_ROLE, "amend", "POL", text="mine")
    s.do("amend", "PC", text="Committee text")
    assert s.s.current_revision.number == 2 and s.s.current_revision.by == "PC"


def test_review_forward_amend_and_return_outcomes() -> None:
    forwarded = Scenario().forwarded()
    assert forwarded.s.review is not None and forwarded.s.review.forwarded_revision == 1
    forwarded.refused(Rule.WRONG_STATE, "complete_review", CHAIR, outcome="forward")

    amended = Scenario().proposed()
    amended.do("refer", CHAIR)
    with pytest.raises(InvalidInput, match="text: required"):
        amended.do("complete_review", CHAIR, outcome="amend")
    produced = amended.do("complete_review", CHAIR, outcome="amend", text="Amended text")
    assert [e.type for e in produced] == ["ProposalAmended", "ReviewCompleted"]
    assert amended.s.review is not None and amended.s.review.forwarded_revision == 2

    returned = Scenario().proposed()
    returned.do("refer", CHAIR)
    returned.refused(Rule.REASONS_REQUIRED, "complete_review", CHAIR, outcome="return")
    [event] = returned.do("complete_review", CHAIR, outcome="return", reasons="Too broad")
    assert event.type == "ReturnedToProposer"
    assert returned.s.status is Status.PROPOSED
    returned.do("amend", "POL", text="Narrower text")
    returned.do("refer", CHAIR)
    assert returned.s.status.value == "in_review"


def test_a_member_cannot_complete_a_review() -> None:
    s = Scenario().proposed()
    s.do("refer", CHAIR)
    s.refused(Rule.WRONG_ROLE, "complete_review", "USA", outcome="forward")


def test_before_referral_the_refusal_names_the_rosters_own_preparatory_committee() -> None:
    bodies = tuple(
        Body(code="PREPCOM", name=body.name, kind=body.kind) if body.code == "PC" else body
        for body in ENLARGEMENT_2004.bodies
    )
    roster = Roster(
        version=1,
        effective_from=ENLARGEMENT_2004.effective_from,
        members=ENLARGEMENT_2004.members,
        bodies=bodies,
    )
    s = Scenario(rosters=RosterBook(rosters=(roster,))).proposed()
    refusal = s.refused(Rule.WRONG_ROLE, "complete_review", "USA", outcome="forward")
    assert refusal.message == "only the chair or the PREPCOM may complete a review; USA may not"
    s.do("refer", CHAIR)
    assert s.s.review is not None and s.s.review.committee == "PREPCOM"


def test_extending_the_review_deadline_with_a_round_number_given_moves_the_review_only() -> None:
    s = Scenario().proposed()
    s.do("refer", CHAIR)
    assert s.s.review is not None
    review_deadline = s.s.review.deadline

    [extended] = s.do(
        "extend_deadline",
        CHAIR,
        target="review",
        round=1,
        new_deadline=s.later(days=30),
        reason="r",
    )

    assert extended.round is None
    assert s.s.review is not None and s.s.review.deadline > review_deadline
    assert s.s.rounds == ()


def test_texts_are_normalised_before_hashing_and_control_characters_are_refused() -> None:
    from pydantic import ValidationError

    composed, decomposed = "R\u00e9solution", "Re\u0301solution"
    one = Scenario().proposed(text=composed)
    other = Scenario().proposed(text="\ufeff" + decomposed)
    assert one.s.current_revision.text_hash == other.s.current_revision.text_hash
    assert other.s.current_revision.text == composed

    for title in ("Plan\x1b[31m", "Two\nlines", "Bell\x07"):
        with pytest.raises(ValidationError, match="title"):
            Scenario().proposed(title=title)
    with pytest.raises(ValidationError, match="control characters"):
        Scenario().proposed(text="Text\x00with NUL")
    Scenario().proposed(text="Paragraph one.\n\n\tParagraph two.")


def test_a_title_that_reads_other_than_it_is_stored_is_refused() -> None:
    for hidden in ("\u202e", "\u200b", "\u2066", "\ufeff"):
        with pytest.raises(ValidationError, match="invisible formatting characters"):
            Scenario().command(
                "submit_proposal", "POL", title=f"Plan{hidden}gol", text="x", area="other"
            )
    with pytest.raises(ValidationError, match="more than white space"):
        Scenario().command(
            "submit_proposal", "POL", title="Plan", text=" \n\t ", area="crisis_management"
        )


def test_an_area_label_belongs_to_the_area_other_alone() -> None:
    with pytest.raises(InvalidInput, match="area_label: only for the area 'other'"):
        Scenario().proposed(area="crisis_management", area_label="Airspace")
    before = Scenario(practice=Practice(amended_2026_12_06=False))
    assert before.proposed(area="crisis_management", area_label="Airspace").s.area_label
