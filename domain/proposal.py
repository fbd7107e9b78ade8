"""Rules of proposal and Preparatory Committee review: submission, referral, amendment, outcome."""

from __future__ import annotations

from datetime import timedelta

from domain import commands as cmd
from domain import events as ev
from domain.areas import OTHER
from domain.checks import (
    Deciding,
    check_assignees,
    require_chair,
    require_future,
    require_member,
    require_status,
)
from domain.errors import InvalidInput, NotFound, Refusal, Rule
from domain.roster import CHAIR, DECIDING_KINDS, Body, Roster
from domain.values import ReviewOutcome, Status, text_hash


def submit_proposal(c: cmd.SubmitProposal, d: Deciding) -> None:
    roster = d.roster()
    body = _deciding_body(c, roster)
    if d.actor == CHAIR and d.practice.amended_2026_12_06:
        raise Refusal(
            Rule.WRONG_ROLE,
            "only member states submit proposals; the chair does not propose",
            actor=d.actor,
        )
    if d.actor != CHAIR:
        require_member(d, "submit a proposal")
        if d.actor not in roster.body_members(body.code):
            raise Refusal(
                Rule.NOT_ON_ROSTER,
                f"{d.actor} is not a member of {body.code}; only its members propose to it",
                member=d.actor,
                body=body.code,
            )
    if not roster.has_area(c.area):
        areas = ", ".join((*roster.areas, OTHER))
        raise InvalidInput("area", f"{c.area} is not an area of the council (its areas: {areas})")
    if c.area == OTHER and not (c.area_label or "").strip():
        raise InvalidInput("area_label", "required when the area is 'other'")
    if c.area != OTHER and c.area_label and d.practice.amended_2026_12_06:
        raise InvalidInput("area_label", f"only for the area 'other' (the area is {c.area!r})")
    check_assignees(d, c.plan_draft, roster)
    d.emit(
        ev.ProposalSubmitted(
            **d.envelope(),
            title=c.title,
            text=c.text,
            text_hash=text_hash(c.text),
            area=c.area,
            area_label=c.area_label,
            body=body.code,
            level=body.level,
            proposer=d.actor,
            roster_version=roster.version,
            roster_on=c.roster_on,
            plan_draft=c.plan_draft,
            max_failed_rounds=c.max_failed_rounds,
            review_period_seconds=c.review_period_seconds,
        )
    )


def _deciding_body(c: cmd.SubmitProposal, roster: Roster) -> Body:
    """The body a proposal goes to: the one it names (the Council at a level, the Preparatory
    Committee, a working group), the Council at the level it names, or the council's first
    deciding body."""
    if c.body is not None and c.level is not None:
        raise InvalidInput("body", "name the body or the level, not both")
    if c.body is not None:
        if not roster.is_body(c.body):
            known = ", ".join(b.code for b in roster.bodies)
            raise InvalidInput("body", f"no body {c.body} in the council (bodies: {known})")
        return roster.body(c.body)
    if c.level is not None:
        try:
            return roster.council_at(c.level)
        except NotFound as missing:
            raise InvalidInput("level", missing.message) from None
    return next(b for b in roster.bodies if b.kind in DECIDING_KINDS)


def reviewer(roster: Roster) -> str:
    """Who reviews a proposal: the council's preparatory body, or the chair in a council
    that has none."""
    return roster.preparatory_committee.code if roster.has_preparatory_committee else CHAIR


def refer_to_preparatory_committee(c: cmd.ReferToPreparatoryCommittee, d: Deciding) -> None:
    require_chair(d, "refer a proposal to the Preparatory Committee")
    require_status(d, {Status.PROPOSED}, "refer the proposal")
    deadline = c.review_deadline or d.now + timedelta(seconds=d.state.review_period_seconds)
    require_future(d, deadline, "review_deadline")
    d.emit(
        ev.ReferredToPreparatoryCommittee(
            **d.envelope(),
            committee=reviewer(d.roster()),
            review_deadline=deadline,
        )
    )


def _amend(d: Deciding, text: str, note: str) -> int:
    current = d.state.current_revision
    if text_hash(text) == current.text_hash:
        raise Refusal(
            Rule.TEXT_UNCHANGED,
            f"the text is identical to revision {current.number}",
            revision=current.number,
        )
    number = current.number + 1
    d.emit(
        ev.ProposalAmended(
            **d.envelope(), revision=number, text=text, text_hash=text_hash(text), note=note
        )
    )
    return number


def _require_reviewer(d: Deciding, doing: str) -> None:
    review = d.state.review
    committee = review.committee if review else reviewer(d.roster())
    if d.actor not in (CHAIR, committee):
        raise Refusal(
            Rule.WRONG_ROLE,
            f"only the chair or the {committee} may {doing}; {d.actor} may not",
            actor=d.actor,
            committee=committee,
        )


def amend_proposal(c: cmd.AmendProposal, d: Deciding) -> None:
    require_status(d, {Status.PROPOSED, Status.IN_REVIEW}, "amend the proposal")
    if d.state.status is Status.PROPOSED:
        if d.actor not in (CHAIR, d.state.proposer):
            raise Refusal(
                Rule.NOT_PROPOSER,
                f"before referral only the proposer ({d.state.proposer}) or the chair "
                f"may amend; {d.actor} may not",
                proposer=d.state.proposer,
                actor=d.actor,
            )
    else:
        _require_reviewer(d, "amend a proposal under review")
    _amend(d, c.text, c.note)


def complete_review(c: cmd.CompleteReview, d: Deciding) -> None:
    _require_reviewer(d, "complete a review")
    require_status(d, {Status.IN_REVIEW}, "complete the review")
    assert d.state.review is not None
    current = d.state.current_revision
    if d.state.review.forwarded_revision == current.number:
        raise Refusal(
            Rule.WRONG_STATE,
            f"revision {current.number} was already forwarded to the Council",
            revision=current.number,
            status=d.state.status.value,
        )
    if c.outcome is ReviewOutcome.RETURN:
        if not c.reasons.strip():
            raise Refusal(
                Rule.REASONS_REQUIRED, "returning a proposal needs reasons", actor=d.actor
            )
        d.emit(ev.ReturnedToProposer(**d.envelope(), reasons=c.reasons))
        return
    if c.outcome is ReviewOutcome.AMEND:
        if c.text is None:
            raise InvalidInput("text", "required when the review outcome is 'amend'")
        number = _amend(d, c.text, "amended in review")
        d.emit(
            ev.ReviewCompleted(
                **d.envelope(), outcome=c.outcome, revision=number, text_hash=text_hash(c.text)
            )
        )
        return
    if current.number in d.state.failed_revisions():
        raise Refusal(
            Rule.TEXT_ALREADY_FAILED,
            f"revision {current.number} failed consensus; amend it before forwarding",
            revision=current.number,
        )
    d.emit(
        ev.ReviewCompleted(
            **d.envelope(),
            outcome=c.outcome,
            revision=current.number,
            text_hash=current.text_hash,
        )
    )
