"""Rules of proposal, Preparatory Committee review and consensus rounds under silence procedure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from domain import commands as cmd
from domain import events as ev
from domain.checks import (
    Decision,
    answerable_round,
    check_assignees,
    check_hash,
    reminder_at,
    require_chair,
    require_future,
    require_member,
    require_open_round,
    require_status,
    require_text,
    settle_round,
)
from domain.errors import InvalidInput, Refusal, Rule
from domain.roster import CHAIR
from domain.values import SYSTEM, DeadlineTarget, ReviewOutcome, Status, text_hash

Handler = Callable[[Any, Decision], None]


def submit_proposal(c: cmd.SubmitProposal, d: Decision) -> None:
    roster = d.roster()
    if d.actor != CHAIR:
        require_member(d, "submit a proposal")
    if c.area.value == "other" and not (c.area_label or "").strip():
        raise InvalidInput("area_label", "required when the area is 'other'")
    check_assignees(d, c.plan_draft, roster)
    d.emit(
        ev.ProposalSubmitted,
        title=c.title,
        text=c.text,
        text_hash=text_hash(c.text),
        area=c.area,
        area_label=c.area_label,
        body=roster.council_at(c.level).code,
        level=c.level,
        proposer=d.actor,
        roster_version=roster.version,
        plan_draft=c.plan_draft,
        max_failed_rounds=c.max_failed_rounds,
        review_period_seconds=c.review_period_seconds,
    )


def refer_to_preparatory_committee(c: cmd.ReferToPreparatoryCommittee, d: Decision) -> None:
    require_chair(d, "refer a proposal to the Preparatory Committee")
    require_status(d, {Status.PROPOSED}, "refer the proposal")
    deadline = c.review_deadline or d.now + timedelta(seconds=d.s.review_period_seconds)
    require_future(d, deadline, "review_deadline")
    d.emit(
        ev.ReferredToPreparatoryCommittee,
        committee=d.roster().preparatory_committee.code,
        review_deadline=deadline,
    )


def _amend(d: Decision, text: str, note: str) -> int:
    if text_hash(text) == d.s.current_revision.text_hash:
        raise Refusal(
            Rule.TEXT_UNCHANGED, f"the text is identical to revision {d.s.current_revision.number}"
        )
    number = d.s.current_revision.number + 1
    d.emit(ev.ProposalAmended, revision=number, text=text, text_hash=text_hash(text), note=note)
    return number


def _require_reviewer(d: Decision, doing: str) -> None:
    committee = d.s.review.committee if d.s.review else "PC"
    if d.actor not in (CHAIR, committee):
        raise Refusal(
            Rule.WRONG_ROLE, f"only the chair or the {committee} may {doing}; {d.actor} may not"
        )


def amend_proposal(c: cmd.AmendProposal, d: Decision) -> None:
    require_status(d, {Status.PROPOSED, Status.IN_REVIEW}, "amend the proposal")
    if d.s.status is Status.PROPOSED:
        if d.actor not in (CHAIR, d.s.proposer):
            raise Refusal(
                Rule.NOT_PROPOSER,
                f"before referral only the proposer ({d.s.proposer}) or the chair "
                f"may amend; {d.actor} may not",
            )
    else:
        _require_reviewer(d, "amend a proposal under review")
    _amend(d, c.text, c.note)


def complete_review(c: cmd.CompleteReview, d: Decision) -> None:
    _require_reviewer(d, "complete a review")
    require_status(d, {Status.IN_REVIEW}, "complete the review")
    assert d.s.review is not None
    current = d.s.current_revision
    if d.s.review.forwarded_revision == current.number:
        raise Refusal(
            Rule.WRONG_STATE, f"revision {current.number} was already forwarded to the Council"
        )
    if c.outcome is ReviewOutcome.RETURN:
        if not c.reasons.strip():
            raise Refusal(Rule.REASONS_REQUIRED, "returning a proposal needs reasons")
        d.emit(ev.ReturnedToProposer, reasons=c.reasons)
        return
    if c.outcome is ReviewOutcome.AMEND:
        if c.text is None:
            raise InvalidInput("text", "required when the review outcome is 'amend'")
        number = _amend(d, c.text, "amended in review")
        d.emit(ev.ReviewCompleted, outcome=c.outcome, revision=number, text_hash=text_hash(c.text))
        return
    if current.number in d.s.failed_revisions():
        raise Refusal(
            Rule.TEXT_ALREADY_FAILED,
            f"revision {current.number} failed consensus; amend it before forwarding",
        )
    d.emit(
        ev.ReviewCompleted, outcome=c.outcome, revision=current.number, text_hash=current.text_hash
    )


def open_round(c: cmd.OpenRound, d: Decision) -> None:
    require_chair(d, "open a consensus round")
    require_status(d, {Status.IN_REVIEW}, "open a consensus round")
    assert d.s.review is not None
    current = d.s.current_revision
    if d.s.review.forwarded_revision != current.number:
        raise Refusal(
            Rule.REVIEW_NOT_FORWARDED,
            f"the Preparatory Committee has not forwarded revision {current.number}",
        )
    require_future(d, c.deadline, "deadline")
    roster = d.roster()
    d.emit(
        ev.ConsensusRoundOpened,
        round=len(d.s.rounds) + 1,
        revision=current.number,
        text_hash=current.text_hash,
        roster_version=roster.version,
        members=roster.member_codes,
        deadline=c.deadline,
        reminder_at=reminder_at(d, c.deadline, c.reminder_before_seconds),
    )


def concur(c: cmd.Concur, d: Decision) -> None:
    r = answerable_round(d, c.round)
    check_hash(r, c.text_hash)
    if d.actor in r.concurred:
        raise Refusal(
            Rule.ALREADY_CONCURRED, f"{d.actor} has already concurred in round {r.number}"
        )
    if d.actor in r.objections:
        raise Refusal(
            Rule.ALREADY_OBJECTING,
            f"{d.actor} stands objecting in round {r.number}; withdraw the "
            "objection before concurring",
        )
    d.emit(ev.ConcurrenceRecorded, round=r.number, member=d.actor, text_hash=r.text_hash)
    if set(r.concurred) | {d.actor} == set(r.members):
        settle_round(d, r, "unanimous_concurrence")


def break_silence(c: cmd.BreakSilence, d: Decision) -> None:
    if d.actor == CHAIR:
        raise Refusal(
            Rule.CHAIR_CANNOT_BLOCK, "the chair convenes and records; it cannot break silence"
        )
    r = answerable_round(d, c.round)
    check_hash(r, c.text_hash)
    if not c.reasons.strip():
        raise Refusal(Rule.REASONS_REQUIRED, "breaking silence needs the reasons for it")
    if d.actor in r.objections:
        raise Refusal(Rule.ALREADY_OBJECTING, f"{d.actor} already objects in round {r.number}")
    d.emit(
        ev.SilenceBroken, round=r.number, member=d.actor, text_hash=r.text_hash, reasons=c.reasons
    )


def withdraw_objection(c: cmd.WithdrawObjection, d: Decision) -> None:
    r = answerable_round(d, c.round)
    if d.actor not in r.objections:
        raise Refusal(
            Rule.NOT_OBJECTING, f"{d.actor} has no objection standing in round {r.number}"
        )
    d.emit(ev.ObjectionWithdrawn, round=r.number, member=d.actor)


def register_concern(c: cmd.RegisterConcern, d: Decision) -> None:
    r = answerable_round(d, c.round)
    d.emit(
        ev.ConcernRegistered,
        round=r.number,
        member=d.actor,
        statement=require_text(c.statement, "statement"),
    )


def extend_deadline(c: cmd.ExtendDeadline, d: Decision) -> None:
    require_chair(d, "extend a deadline")
    reason = require_text(c.reason, "reason")
    reminder_at: datetime | None = None
    if c.target is DeadlineTarget.ROUND:
        if c.round is None:
            raise InvalidInput("round", "required when the target is a round")
        r = require_open_round(d, c.round)
        previous = r.deadline
        if r.reminder_at is not None:
            reminder_at = c.new_deadline - (r.deadline - r.reminder_at)
    elif c.target is DeadlineTarget.REVIEW:
        require_status(d, {Status.IN_REVIEW}, "extend the review deadline")
        assert d.s.review is not None
        previous = d.s.review.deadline
    else:
        plan = d.s.plan
        if plan is None or d.s.status is not Status.IN_IMPLEMENTATION:
            raise Refusal(Rule.WRONG_STATE, "there is no implementation plan to extend")
        if plan.report_back_received_at is not None:
            raise Refusal(Rule.REPORT_RECEIVED, "the report back has already been received")
        previous = plan.report_back_deadline
        if plan.reminder_at is not None:
            reminder_at = c.new_deadline - (plan.report_back_deadline - plan.reminder_at)
    if c.new_deadline <= previous:
        raise Refusal(
            Rule.DEADLINE_NOT_LATER,
            f"new deadline {c.new_deadline.isoformat()} is not later than {previous.isoformat()}",
        )
    require_future(d, c.new_deadline, "new_deadline")
    if reminder_at is not None and reminder_at <= d.now:
        reminder_at = None
    d.emit(
        ev.DeadlineExtended,
        target=c.target,
        round=c.round,
        previous_deadline=previous,
        new_deadline=c.new_deadline,
        reminder_at=reminder_at,
        reason=reason,
    )


def close_round(c: cmd.CloseRound, d: Decision) -> None:
    if d.actor not in (CHAIR, SYSTEM):
        raise Refusal(Rule.WRONG_ROLE, f"only the chair may close a round; {d.actor} may not")
    r = require_open_round(d, c.round)
    if d.now < r.deadline:
        if d.actor == SYSTEM:
            raise Refusal(
                Rule.DEADLINE_NOT_REACHED, f"round {r.number} runs until {r.deadline.isoformat()}"
            )
        if not r.objections:
            raise Refusal(
                Rule.NO_STANDING_OBJECTION,
                f"round {r.number} has no standing objection; it closes by silence "
                f"at {r.deadline.isoformat()}",
            )
    settle_round(d, r, "deadline" if d.now >= r.deadline else "chair")


HANDLERS: dict[type[cmd.CommandBase], Handler] = {
    cmd.SubmitProposal: submit_proposal,
    cmd.ReferToPreparatoryCommittee: refer_to_preparatory_committee,
    cmd.AmendProposal: amend_proposal,
    cmd.CompleteReview: complete_review,
    cmd.OpenRound: open_round,
    cmd.Concur: concur,
    cmd.BreakSilence: break_silence,
    cmd.WithdrawObjection: withdraw_objection,
    cmd.RegisterConcern: register_concern,
    cmd.ExtendDeadline: extend_deadline,
    cmd.CloseRound: close_round,
}
