"""evolve(state, event) -> state: how each event changes a decision; replaying is a fold of it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import singledispatch
from typing import TypeVar

from pydantic import ValidationError

from domain import events as ev
from domain.errors import InvalidHistory, Refusal
from domain.state import (
    AgendaEntry,
    Concern,
    ConsensusRound,
    DecisionState,
    ImplementationIssue,
    ImplementationPlan,
    MeetingRequest,
    Review,
    TextRevision,
    shifted,
    with_issue,
    with_round,
)
from domain.values import DeadlineTarget, ReviewOutcome, RoundOutcome, Status

T = TypeVar("T")


def evolve(state: DecisionState | None, event: ev.Event) -> DecisionState:
    """The state after `event`; refuses an event that cannot follow `state` (a broken history)."""
    if state is None:
        if not isinstance(event, ev.ProposalSubmitted) or event.stream_version != 1:
            raise InvalidHistory(
                f"a decision's history starts with ProposalSubmitted at version 1, "
                f"not {event.type} at version {event.stream_version}"
            )
        return _submitted(event)
    if event.decision_id != state.decision_id:
        raise InvalidHistory(
            f"event of decision {event.decision_id} in the stream of {state.decision_id}"
        )
    if event.stream_version != state.version + 1:
        raise InvalidHistory(
            f"decision {state.decision_id}: expected version {state.version + 1}, "
            f"got {event.type} at version {event.stream_version}"
        )
    if isinstance(event, ev.ProposalSubmitted):
        raise InvalidHistory(f"decision {state.decision_id} was already proposed")
    try:
        applied = _apply(event, state)
        return applied.replace(version=event.stream_version, last_event_at=event.occurred_at)
    except InvalidHistory as broken:
        raise InvalidHistory(f"{_where(state, event)}: {broken.message}") from None
    except Refusal as broken:  # a lookup the history cannot satisfy: no such round, issue, item
        raise InvalidHistory(
            f"{_where(state, event)}: {broken.message} ({broken.rule.value})"
        ) from None
    except (ValidationError, ValueError, OverflowError) as broken:
        reason = str(broken).splitlines()[0]
        raise InvalidHistory(f"{_where(state, event)}: {reason}") from None


def _where(state: DecisionState, event: ev.Event) -> str:
    return (
        f"decision {state.decision_id}, event {event.type} at version {event.stream_version} "
        f"cannot follow its history"
    )


def _present(part: T | None, what: str) -> T:
    """The part of the state an event needs; InvalidHistory when the history never made it."""
    if part is None:
        raise InvalidHistory(f"it needs {what}, which the decision does not have")
    return part


def replay(events: Iterable[ev.Event]) -> DecisionState | None:
    """The state a decision reaches through `events`, in order; None for no events."""
    state: DecisionState | None = None
    for event in events:
        state = evolve(state, event)
    return state


def _submitted(e: ev.ProposalSubmitted) -> DecisionState:
    return DecisionState(
        decision_id=e.decision_id,
        version=1,
        status=Status.PROPOSED,
        title=e.title,
        area=e.area,
        area_label=e.area_label,
        body=e.body,
        level=e.level,
        proposer=e.proposer,
        roster_version=e.roster_version,
        roster_on=e.roster_on,
        proposed_at=e.occurred_at,
        last_event_at=e.occurred_at,
        revisions=(
            TextRevision(
                number=1, text=e.text, text_hash=e.text_hash, at=e.occurred_at, by=e.actor
            ),
        ),
        plan_draft=e.plan_draft,
        max_failed_rounds=e.max_failed_rounds,
        review_period_seconds=e.review_period_seconds,
    )


@singledispatch
def _apply(event: object, state: DecisionState) -> DecisionState:
    raise InvalidHistory(f"no rule to apply {type(event).__name__}")


@_apply.register
def _(e: ev.ReferredToPreparatoryCommittee, s: DecisionState) -> DecisionState:
    review = Review(committee=e.committee, referred_at=e.occurred_at, deadline=e.review_deadline)
    return s.replace(status=Status.IN_REVIEW, review=review)


@_apply.register
def _(e: ev.ProposalAmended, s: DecisionState) -> DecisionState:
    revision = TextRevision(
        number=e.revision, text=e.text, text_hash=e.text_hash, at=e.occurred_at, by=e.actor
    )
    return s.replace(revisions=(*s.revisions, revision))


@_apply.register
def _(e: ev.ReviewCompleted, s: DecisionState) -> DecisionState:
    review = _present(s.review, "a review").replace(
        outcome=e.outcome, forwarded_revision=e.revision
    )
    return s.replace(review=review)


@_apply.register
def _(e: ev.ReturnedToProposer, s: DecisionState) -> DecisionState:
    review = _present(s.review, "a review").replace(
        outcome=ReviewOutcome.RETURN, forwarded_revision=None
    )
    return s.replace(status=Status.PROPOSED, review=review)


@_apply.register
def _(e: ev.ReviewDeadlineMissed, s: DecisionState) -> DecisionState:
    return s.replace(review=_present(s.review, "a review").replace(deadline_flagged=True))


def _open(s: DecisionState, new_round: ConsensusRound, status: Status) -> DecisionState:
    return s.replace(rounds=(*s.rounds, new_round), status=status)


def _new_round(
    e: ev.ConsensusRoundOpened | ev.IssueResolutionProposed,
    *,
    revision: int | None = None,
    issue: int | None = None,
) -> ConsensusRound:
    """The round an opening event starts: its text, roster snapshot and deadline."""
    return ConsensusRound(
        number=e.round,
        issue=issue,
        revision=revision,
        text_hash=e.text_hash,
        roster_version=e.roster_version,
        members=e.members,
        opened_at=e.occurred_at,
        deadline=e.deadline,
        reminder_at=e.reminder_at,
    )


@_apply.register
def _(e: ev.ConsensusRoundOpened, s: DecisionState) -> DecisionState:
    return _open(s, _new_round(e, revision=e.revision), Status.UNDER_CONSENSUS)


@_apply.register
def _(e: ev.IssueResolutionProposed, s: DecisionState) -> DecisionState:
    issue = s.issue(e.issue).replace(resolution_round=e.round)
    opened = _open(s, _new_round(e, issue=e.issue), s.status)
    return opened.replace(issues=with_issue(s, issue))


def _round_update(s: DecisionState, number: int, **changes: object) -> DecisionState:
    updated = s.round(number).replace(**changes)
    return s.replace(rounds=with_round(s, updated))


@_apply.register
def _(e: ev.ConcurrenceRecorded, s: DecisionState) -> DecisionState:
    r = s.round(e.round)
    objections = {m: why for m, why in r.objections.items() if m != e.member}
    return _round_update(s, e.round, concurred=(*r.concurred, e.member), objections=objections)


@_apply.register
def _(e: ev.SilenceBroken, s: DecisionState) -> DecisionState:
    r = s.round(e.round)
    concurred = tuple(m for m in r.concurred if m != e.member)
    return _round_update(
        s, e.round, concurred=concurred, objections={**r.objections, e.member: e.reasons}
    )


@_apply.register
def _(e: ev.ObjectionWithdrawn, s: DecisionState) -> DecisionState:
    r = s.round(e.round)
    return _round_update(
        s, e.round, objections={m: why for m, why in r.objections.items() if m != e.member}
    )


@_apply.register
def _(e: ev.ConcernRegistered, s: DecisionState) -> DecisionState:
    r = s.round(e.round)
    concern = Concern(member=e.member, statement=e.statement)
    return _round_update(s, e.round, concerns=(*r.concerns, concern))


@_apply.register
def _(e: ev.DeadlineExtended, s: DecisionState) -> DecisionState:
    if e.target is DeadlineTarget.ROUND:
        if e.round is None:
            raise InvalidHistory("a round's deadline was extended without naming the round")
        return _round_update(
            s, e.round, deadline=e.new_deadline, reminder_at=e.reminder_at, reminded=False
        )
    if e.target is DeadlineTarget.REPORT_BACK:
        plan = _present(s.plan, "an implementation plan").replace(
            report_back_deadline=e.new_deadline,
            reminder_at=e.reminder_at,
            reminded=False,
            deadline_flagged=False,
        )
        return s.replace(plan=plan)
    review = _present(s.review, "a review").replace(deadline=e.new_deadline, deadline_flagged=False)
    return s.replace(review=review)


@_apply.register
def _(e: ev.RemindersSent, s: DecisionState) -> DecisionState:
    if e.round is not None:
        return _round_update(s, e.round, reminded=True)
    return s.replace(plan=_present(s.plan, "an implementation plan").replace(reminded=True))


@_apply.register
def _(e: ev.ConsensusReached, s: DecisionState) -> DecisionState:
    return _round_update(s, e.round, outcome=e.outcome, closed_at=e.occurred_at)


@_apply.register
def _(e: ev.ConsensusFailed, s: DecisionState) -> DecisionState:
    closed = _round_update(s, e.round, outcome=RoundOutcome.FAILED, closed_at=e.occurred_at)
    if s.round(e.round).issue is not None:
        issue = s.issue(s.round(e.round).issue or 0).replace(resolution_round=None)
        return closed.replace(issues=with_issue(closed, issue))
    review = None
    if s.review is not None and e.review_deadline is not None:
        review = s.review.replace(
            referred_at=e.occurred_at,
            deadline=e.review_deadline,
            outcome=None,
            forwarded_revision=None,
            deadline_flagged=False,
        )
    return closed.replace(status=Status.IN_REVIEW, review=review, failed_rounds=e.failed_rounds)


@_apply.register
def _(e: ev.DecisionAdopted, s: DecisionState) -> DecisionState:
    concerns = s.round(e.round).concerns
    return s.replace(
        status=Status.ADOPTED, adopted_round=e.round, adopted_at=e.occurred_at, concerns=concerns
    )


@_apply.register
def _(e: ev.DecisionLapsed, s: DecisionState) -> DecisionState:
    return s.replace(status=Status.LAPSED, closed_at=e.occurred_at)


@_apply.register
def _(e: ev.ImplementationPlanned, s: DecisionState) -> DecisionState:
    plan = ImplementationPlan(
        action_items=e.action_items,
        monitoring_body=e.monitoring_body,
        report_back_deadline=e.report_back_deadline,
        reminder_at=e.reminder_at,
    )
    return s.replace(status=Status.IN_IMPLEMENTATION, plan=plan)


@_apply.register
def _(e: ev.ProgressReported, s: DecisionState) -> DecisionState:
    current = _present(s.plan, "an implementation plan")
    plan = current.replace(
        progress_reports=current.progress_reports + 1,
        last_report_at=e.occurred_at,
        # The report-back was received when it first came; later ones do not move that.
        report_back_received_at=current.report_back_received_at
        or (e.occurred_at if e.report_back else None),
    )
    return s.replace(plan=plan)


@_apply.register
def _(e: ev.ActionItemCompleted, s: DecisionState) -> DecisionState:
    current = _present(s.plan, "an implementation plan")
    plan = current.replace(completed_items=(*current.completed_items, e.item_id))
    return s.replace(plan=plan)


@_apply.register
def _(e: ev.ReportDeadlineMissed, s: DecisionState) -> DecisionState:
    return s.replace(plan=_present(s.plan, "an implementation plan").replace(deadline_flagged=True))


@_apply.register
def _(e: ev.ImplementationIssueRaised, s: DecisionState) -> DecisionState:
    issue = ImplementationIssue(
        number=e.issue,
        title=e.title,
        description=e.description,
        raised_by=e.actor,
        raised_at=e.occurred_at,
    )
    return s.replace(issues=(*s.issues, issue))


@_apply.register
def _(e: ev.ImplementationIssueResolved, s: DecisionState) -> DecisionState:
    issue = s.issue(e.issue).replace(resolved_at=e.occurred_at, resolution_hash=e.text_hash)
    return s.replace(issues=with_issue(s, issue))


@_apply.register
def _(e: ev.AgendaItemScheduled, s: DecisionState) -> DecisionState:
    entry = AgendaEntry(
        meeting_id=e.meeting_id, body=e.body, sitting_at=e.sitting_at, item=e.item, detail=e.detail
    )
    return s.replace(agenda=(*s.agenda, entry))


@_apply.register
def _(e: ev.ExtraordinaryMeetingRequested, s: DecisionState) -> DecisionState:
    request = MeetingRequest(level=e.level, reason=e.reason, requested_by=e.actor, at=e.occurred_at)
    return s.replace(meetings=(*s.meetings, request))


def _closed(
    s: DecisionState, status: Status, at: datetime, superseded_by: str | None = None
) -> DecisionState:
    rounds = tuple(
        r.replace(outcome=RoundOutcome.CANCELLED, closed_at=at) if r.is_open else r
        for r in s.rounds
    )
    return s.replace(
        status=status,
        closed_at=s.closed_at or at,  # a completed decision superseded later closed then
        rounds=rounds,
        suspended_from=None,
        superseded_by=superseded_by or s.superseded_by,
    )


@_apply.register
def _(e: ev.DecisionCompleted, s: DecisionState) -> DecisionState:
    return _closed(s, Status.COMPLETED, e.occurred_at)


@_apply.register
def _(e: ev.DecisionWithdrawn, s: DecisionState) -> DecisionState:
    return _closed(s, Status.WITHDRAWN, e.occurred_at)


@_apply.register
def _(e: ev.DecisionSuperseded, s: DecisionState) -> DecisionState:
    return _closed(s, Status.SUPERSEDED, e.occurred_at, superseded_by=e.superseded_by)


@_apply.register
def _(e: ev.DecisionSupersedes, s: DecisionState) -> DecisionState:
    return s.replace(supersedes=(*s.supersedes, e.supersedes))


@_apply.register
def _(e: ev.DecisionSuspended, s: DecisionState) -> DecisionState:
    return s.replace(status=Status.SUSPENDED, suspended_from=s.status, suspended_at=e.occurred_at)


@_apply.register
def _(e: ev.DecisionResumed, s: DecisionState) -> DecisionState:
    # Suspension pauses the procedure's clock: every open deadline moves by the pause.
    pause = (
        timedelta(seconds=e.paused_seconds)
        if e.paused_microseconds is None
        else timedelta(microseconds=e.paused_microseconds)
    )
    rounds = tuple(
        r.replace(deadline=shifted(r.deadline, pause), reminder_at=shifted(r.reminder_at, pause))
        if r.is_open
        else r
        for r in s.rounds
    )
    review = s.review
    if review is not None and review.outcome is None:
        review = review.replace(deadline=shifted(review.deadline, pause))
    plan = s.plan
    if plan is not None and plan.report_back_received_at is None:
        plan = plan.replace(
            report_back_deadline=shifted(plan.report_back_deadline, pause),
            reminder_at=shifted(plan.reminder_at, pause),
        )
    return s.replace(
        status=_present(s.suspended_from, "a suspension"),
        suspended_from=None,
        suspended_at=None,
        rounds=rounds,
        review=review,
        plan=plan,
    )
