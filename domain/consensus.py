"""Rules of consensus rounds under silence procedure, and of extending the procedure's deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import commands as cmd
from domain import events as ev
from domain.checks import (
    Deciding,
    answerable_round,
    check_hash,
    reminder_at,
    require_chair,
    require_future,
    require_open_round,
    require_silence,
    require_status,
    require_text,
)
from domain.errors import InvalidInput, Refusal, Rule
from domain.roster import CHAIR
from domain.state import ConsensusRound
from domain.values import SYSTEM, DeadlineTarget, RoundCloser, RoundOutcome, Status


def open_round(c: cmd.OpenRound, d: Deciding) -> None:
    require_chair(d, "open a consensus round")
    require_status(d, {Status.IN_REVIEW}, "open a consensus round")
    assert d.state.review is not None
    current = d.state.current_revision
    if d.state.review.forwarded_revision != current.number:
        raise Refusal(
            Rule.REVIEW_NOT_FORWARDED,
            f"the Preparatory Committee has not forwarded revision {current.number}",
            revision=current.number,
        )
    require_future(d, c.deadline, "deadline")
    require_silence(d, d.now, c.deadline, "deadline")
    roster = d.roster()
    members = roster.body_members(d.state.body) if roster.is_body(d.state.body) else ()
    if not members:
        raise Refusal(
            Rule.NOT_ON_ROSTER,
            f"{d.state.body} has no members on roster version {roster.version}",
            body=d.state.body,
            version=roster.version,
        )
    d.emit(
        ev.ConsensusRoundOpened(
            **d.envelope(),
            round=len(d.state.rounds) + 1,
            revision=current.number,
            text_hash=current.text_hash,
            roster_version=roster.version,
            members=members,
            deadline=c.deadline,
            reminder_at=reminder_at(d, c.deadline, c.reminder_before_seconds),
        )
    )


def concur(c: cmd.Concur, d: Deciding) -> None:
    r = answerable_round(d, c.round)
    check_hash(r, c.text_hash)
    if d.actor in r.concurred:
        raise Refusal(
            Rule.ALREADY_CONCURRED,
            f"{d.actor} has already concurred in round {r.number}",
            member=d.actor,
            round=r.number,
        )
    if d.actor in r.objections:
        raise Refusal(
            Rule.ALREADY_OBJECTING,
            f"{d.actor} stands objecting in round {r.number}; withdraw the "
            "objection before concurring",
            member=d.actor,
            round=r.number,
        )
    d.emit(
        ev.ConcurrenceRecorded(
            **d.envelope(), round=r.number, member=d.actor, text_hash=r.text_hash
        )
    )
    if set(r.concurred) | {d.actor} == set(r.members):
        settle_round(d, r, "unanimous_concurrence")


def break_silence(c: cmd.BreakSilence, d: Deciding) -> None:
    if d.actor == CHAIR:
        raise Refusal(
            Rule.CHAIR_CANNOT_BLOCK,
            "the chair convenes and records; it cannot break silence",
            round=c.round,
        )
    r = answerable_round(d, c.round)
    check_hash(r, c.text_hash)
    if not c.reasons.strip():
        raise Refusal(
            Rule.REASONS_REQUIRED,
            "breaking silence needs the reasons for it",
            actor=d.actor,
            round=r.number,
        )
    if d.actor in r.objections:
        raise Refusal(
            Rule.ALREADY_OBJECTING,
            f"{d.actor} already objects in round {r.number}",
            member=d.actor,
            round=r.number,
        )
    d.emit(
        ev.SilenceBroken(
            **d.envelope(),
            round=r.number,
            member=d.actor,
            text_hash=r.text_hash,
            reasons=c.reasons,
        )
    )


def withdraw_objection(c: cmd.WithdrawObjection, d: Deciding) -> None:
    r = answerable_round(d, c.round)
    if d.actor not in r.objections:
        raise Refusal(
            Rule.NOT_OBJECTING,
            f"{d.actor} has no objection standing in round {r.number}",
            member=d.actor,
            round=r.number,
        )
    d.emit(ev.ObjectionWithdrawn(**d.envelope(), round=r.number, member=d.actor))


def register_concern(c: cmd.RegisterConcern, d: Deciding) -> None:
    r = answerable_round(d, c.round)
    statement = require_text(c.statement, "statement")
    d.emit(
        ev.ConcernRegistered(**d.envelope(), round=r.number, member=d.actor, statement=statement)
    )


def extend_deadline(c: cmd.ExtendDeadline, d: Deciding) -> None:
    require_chair(d, "extend a deadline")
    reason = require_text(c.reason, "reason")
    reminder_at: datetime | None = None
    if c.target is DeadlineTarget.ROUND:
        if c.round is None:
            raise InvalidInput("round", "required when the target is a round")
        r = require_open_round(d, c.round)
        previous = r.deadline
        require_silence(d, r.opened_at, c.new_deadline, "new_deadline")
        if r.reminder_at is not None:
            reminder_at = c.new_deadline - (r.deadline - r.reminder_at)
    elif c.target is DeadlineTarget.REVIEW:
        require_status(d, {Status.IN_REVIEW}, "extend the review deadline")
        if d.state.review is None:
            raise Refusal(
                Rule.WRONG_STATE, "there is no review to extend", status=d.state.status.value
            )
        previous = d.state.review.deadline
    else:
        plan = d.state.plan
        if plan is None or d.state.status is not Status.IN_IMPLEMENTATION:
            raise Refusal(
                Rule.WRONG_STATE,
                "there is no implementation plan to extend",
                status=d.state.status.value,
            )
        if plan.report_back_received_at is not None:
            raise Refusal(
                Rule.REPORT_RECEIVED,
                "the report back has already been received",
                received=plan.report_back_received_at.isoformat(),
            )
        previous = plan.report_back_deadline
        if plan.reminder_at is not None:
            reminder_at = c.new_deadline - (plan.report_back_deadline - plan.reminder_at)
    if c.new_deadline <= previous:
        raise Refusal(
            Rule.DEADLINE_NOT_LATER,
            f"new deadline {c.new_deadline.isoformat()} is not later than {previous.isoformat()}",
            deadline=c.new_deadline.isoformat(),
            previous=previous.isoformat(),
        )
    require_future(d, c.new_deadline, "new_deadline")
    if reminder_at is not None and reminder_at <= d.now:
        reminder_at = None
    d.emit(
        ev.DeadlineExtended(
            **d.envelope(),
            target=c.target,
            round=c.round if c.target is DeadlineTarget.ROUND else None,
            previous_deadline=previous,
            new_deadline=c.new_deadline,
            reminder_at=reminder_at,
            reason=reason,
        )
    )


def close_round(c: cmd.CloseRound, d: Deciding) -> None:
    if d.actor not in (CHAIR, SYSTEM):
        raise Refusal(
            Rule.WRONG_ROLE, f"only the chair may close a round; {d.actor} may not", actor=d.actor
        )
    r = require_open_round(d, c.round)
    if d.now < r.deadline:
        if d.actor == SYSTEM:
            raise Refusal(
                Rule.DEADLINE_NOT_REACHED,
                f"round {r.number} runs until {r.deadline.isoformat()}",
                round=r.number,
                deadline=r.deadline.isoformat(),
                now=d.now.isoformat(),
            )
        if not r.objections:
            raise Refusal(
                Rule.NO_STANDING_OBJECTION,
                f"round {r.number} has no standing objection; it closes by silence "
                f"at {r.deadline.isoformat()}",
                round=r.number,
                deadline=r.deadline.isoformat(),
            )
    settle_round(d, r, "deadline" if d.now >= r.deadline else "chair")


def settle_round(d: Deciding, r: ConsensusRound, closed_by: RoundCloser) -> None:
    """Adopt or fail `r` as it stands now: a round adopts only with no objection standing."""
    state = d.state
    # The chair's and the clock's closings are theirs; unanimity is the procedure's conclusion.
    envelope = d.outcome_envelope if closed_by == "unanimous_concurrence" else d.envelope
    if r.objections:
        failed = state.failed_rounds + (1 if r.issue is None else 0)
        lapses = r.issue is None and failed >= state.max_failed_rounds
        review_deadline = None
        if r.issue is None and not lapses:
            review_deadline = d.now + timedelta(seconds=state.review_period_seconds)
        d.emit(
            ev.ConsensusFailed(
                **envelope(),
                round=r.number,
                closed_by=closed_by,
                objectors=tuple(sorted(r.objections)),
                failed_rounds=failed,
                review_deadline=review_deadline,
            )
        )
        if lapses:
            d.emit(ev.DecisionLapsed(**envelope(), failed_rounds=failed))
        return
    outcome = (
        RoundOutcome.ADOPTED_BY_UNANIMOUS_CONCURRENCE
        if closed_by == "unanimous_concurrence"
        else RoundOutcome.ADOPTED_BY_SILENCE
    )
    d.emit(
        ev.ConsensusReached(**envelope(), round=r.number, outcome=outcome, text_hash=r.text_hash)
    )
    if r.issue is None:
        assert r.revision is not None, "a round on the decision is opened on a revision"
        d.emit(
            ev.DecisionAdopted(
                **envelope(),
                round=r.number,
                revision=r.revision,
                text_hash=r.text_hash,
                concerns=tuple(f"{c.member}: {c.statement}" for c in r.concerns),
            )
        )
    else:
        d.emit(
            ev.ImplementationIssueResolved(
                **envelope(), issue=r.issue, round=r.number, text_hash=r.text_hash
            )
        )
