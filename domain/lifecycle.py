"""Rules that end, pause or escalate a decision: completion, withdrawal, supersession, meetings."""

from __future__ import annotations

from datetime import timedelta

from domain import commands as cmd
from domain import events as ev
from domain.checks import (
    Deciding,
    require_chair,
    require_member,
    require_status,
    require_system,
    require_text,
)
from domain.errors import InvalidInput, NotFound, Refusal, Rule
from domain.roster import CHAIR, CouncilLevel, Roster
from domain.values import IN_FORCE, TERMINAL, Status

_BEFORE_ADOPTION = frozenset({Status.PROPOSED, Status.IN_REVIEW, Status.UNDER_CONSENSUS})
_SUCCESSOR_STATES = IN_FORCE | {Status.COMPLETED, Status.SUPERSEDED}
"""A successor is a decision taken: adopted, in implementation, completed (or since superseded)."""
_NEVER_ADOPTED = {Status.LAPSED: "lapsed", Status.WITHDRAWN: "was withdrawn"}
"""How a decision closed without being adopted is said: it lapsed, it was withdrawn."""


def complete_decision(c: cmd.CompleteDecision, d: Deciding) -> None:
    require_chair(d, "complete a decision")
    require_status(d, {Status.IN_IMPLEMENTATION}, "complete the decision")
    plan = d.state.plan
    assert plan is not None
    if plan.outstanding_items:
        raise Refusal(
            Rule.ITEMS_OUTSTANDING,
            "action items outstanding: " + ", ".join(plan.outstanding_items),
            items=", ".join(plan.outstanding_items),
        )
    if d.state.open_issues:
        raise Refusal(
            Rule.ISSUES_OPEN,
            "implementation issues open: " + ", ".join(str(i.number) for i in d.state.open_issues),
            issues=", ".join(str(i.number) for i in d.state.open_issues),
        )
    d.emit(ev.DecisionCompleted(**d.envelope(), summary=c.summary))


def withdraw_decision(c: cmd.WithdrawDecision, d: Deciding) -> None:
    state = d.state
    if d.actor != state.proposer:
        raise Refusal(
            Rule.NOT_PROPOSER,
            f"only the proposer ({state.proposer}) may withdraw; {d.actor} may not",
            proposer=state.proposer,
            actor=d.actor,
        )
    status = state.suspended_from or state.status
    if status not in _BEFORE_ADOPTION:
        raise Refusal(
            Rule.WRONG_STATE,
            f"decision {state.decision_id} was adopted; it can no longer be withdrawn",
            decision=state.decision_id,
            status=state.status.value,
        )
    d.emit(ev.DecisionWithdrawn(**d.envelope(), reason=c.reason))


def supersede_decision(c: cmd.SupersedeDecision, d: Deciding) -> None:
    require_chair(d, "record a supersession")
    state = d.state
    status = state.suspended_from or state.status
    if status not in IN_FORCE | {Status.COMPLETED}:
        raise Refusal(
            Rule.WRONG_STATE,
            f"only an adopted decision can be superseded; {state.decision_id} "
            f"is {state.status.value}",
            decision=state.decision_id,
            status=state.status.value,
        )
    if c.superseded_by == state.decision_id:
        raise Refusal(
            Rule.SELF_SUPERSESSION,
            "a decision cannot supersede itself",
            decision=state.decision_id,
        )
    d.emit(ev.DecisionSuperseded(**d.envelope(), superseded_by=c.superseded_by, reason=c.reason))


def record_supersession(c: cmd.RecordSupersession, d: Deciding) -> None:
    """The successor records the decision it supersedes: it must itself have been adopted."""
    require_chair(d, "record a supersession")
    state = d.state
    status = state.suspended_from or state.status
    if status not in _SUCCESSOR_STATES:
        became = _NEVER_ADOPTED.get(status, f"is {state.status.value}")
        raise Refusal(
            Rule.SUCCESSOR_NOT_ADOPTED,
            f"{state.decision_id} {became}: only an adopted decision (in implementation, or "
            "completed) can supersede another",
            decision=state.decision_id,
            status=(status if status in _NEVER_ADOPTED else state.status).value,
        )
    if c.supersedes == state.decision_id:
        raise Refusal(
            Rule.SELF_SUPERSESSION,
            "a decision cannot supersede itself",
            decision=state.decision_id,
        )
    if c.supersedes == state.superseded_by:
        raise Refusal(
            Rule.SUPERSESSION_CYCLE,
            f"{state.decision_id} is itself superseded by {c.supersedes}",
            decision=state.decision_id,
            successor=c.supersedes,
        )
    if c.supersedes in state.supersedes:
        raise Refusal(
            Rule.ALREADY_SUPERSEDES,
            f"{state.decision_id} already records that it supersedes {c.supersedes}",
            decision=state.decision_id,
            superseded=c.supersedes,
        )
    d.emit(ev.DecisionSupersedes(**d.envelope(), supersedes=c.supersedes, reason=c.reason))


def suspend_decision(c: cmd.SuspendDecision, d: Deciding) -> None:
    require_chair(d, "suspend a decision")
    state = d.state
    if state.status is Status.SUSPENDED or state.status in TERMINAL:
        raise Refusal(
            Rule.WRONG_STATE,
            f"decision {state.decision_id} is {state.status.value}",
            decision=state.decision_id,
            status=state.status.value,
        )
    reason = require_text(c.reason, "reason")
    d.emit(ev.DecisionSuspended(**d.envelope(), reason=reason))


def resume_decision(c: cmd.ResumeDecision, d: Deciding) -> None:
    require_chair(d, "resume a decision")
    state = d.state
    if state.status is not Status.SUSPENDED or state.suspended_at is None:
        raise Refusal(
            Rule.NOT_SUSPENDED,
            f"decision {state.decision_id} is not suspended",
            decision=state.decision_id,
            status=state.status.value,
        )
    pause = d.now - state.suspended_at
    if pause < timedelta(0):
        raise InvalidInput("now", "is before the suspension")
    exact = pause // timedelta(microseconds=1) if d.practice.amended_2026_12_06 else None
    d.emit(
        ev.DecisionResumed(
            **d.envelope(),
            reason=c.reason,
            paused_seconds=int(pause.total_seconds()),
            paused_microseconds=exact,
        )
    )


def request_meeting(c: cmd.RequestMeeting, d: Deciding) -> None:
    if d.actor != CHAIR:
        require_member(d, "request an extraordinary meeting")
    reason = require_text(c.reason, "reason")
    roster = d.roster()
    level = c.level or _own_level(d.state.body, roster)
    if d.practice.council_rules:
        try:
            roster.council_at(level)
        except NotFound as missing:  # a request no sitting could meet
            raise InvalidInput("level", missing.message) from None
    d.emit(ev.ExtraordinaryMeetingRequested(**d.envelope(), level=level, reason=reason))


def _own_level(body: str, roster: Roster) -> str:
    """The level a request names when it names none: its decision's body's, when that is the
    council at a level, else the council's first level."""
    own = roster.body(body).level if roster.is_body(body) else None
    return own or (roster.levels[0] if roster.levels else CouncilLevel.AMBASSADORS.value)


def schedule_agenda_item(c: cmd.ScheduleAgendaItem, d: Deciding) -> None:
    require_system(d, "put a decision on a sitting's agenda")
    if any(a.meeting_id == c.meeting_id and a.item is c.item for a in d.state.agenda):
        raise Refusal(
            Rule.ALREADY_ON_AGENDA,
            f"{c.item.value} is already on the agenda of {c.meeting_id}",
            agenda_item=c.item.value,
            meeting=c.meeting_id,
        )
    d.emit(
        ev.AgendaItemScheduled(
            **d.envelope(),
            meeting_id=c.meeting_id,
            body=c.body,
            sitting_at=c.sitting_at,
            item=c.item,
            detail=c.detail,
        )
    )
