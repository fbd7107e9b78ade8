"""Rules after adoption (plan, progress, issues) and of the decision's lifecycle exits."""

from __future__ import annotations

from domain import commands as cmd
from domain import events as ev
from domain.checks import (
    Decision,
    check_assignees,
    may_act_for_item,
    reminder_at,
    require_chair,
    require_future,
    require_member,
    require_status,
    require_text,
)
from domain.consensus import Handler
from domain.errors import InvalidInput, Refusal, Rule
from domain.roster import CHAIR
from domain.values import TERMINAL, Status, text_hash

_BEFORE_ADOPTION = frozenset({Status.PROPOSED, Status.IN_REVIEW, Status.UNDER_CONSENSUS})
_ADOPTED = frozenset({Status.ADOPTED, Status.IN_IMPLEMENTATION})


def plan_implementation(c: cmd.PlanImplementation, d: Decision) -> None:
    require_chair(d, "plan the implementation")
    require_status(d, {Status.ADOPTED}, "plan the implementation")
    roster = d.roster()
    check_assignees(d, c.action_items, roster)
    if not roster.is_body(c.monitoring_body):
        raise Refusal(
            Rule.NOT_ON_ROSTER, f"monitoring body {c.monitoring_body} is not a body of the Council"
        )
    require_future(d, c.report_back_deadline, "report_back_deadline")
    d.emit(
        ev.ImplementationPlanned,
        action_items=c.action_items,
        monitoring_body=c.monitoring_body,
        report_back_deadline=c.report_back_deadline,
        reminder_at=reminder_at(d, c.report_back_deadline, c.reminder_before_seconds),
    )


def report_progress(c: cmd.ReportProgress, d: Decision) -> None:
    require_status(d, {Status.IN_IMPLEMENTATION}, "report progress")
    may_act_for_item(d, c.item_id)
    assert d.s.plan is not None
    d.emit(
        ev.ProgressReported,
        item_id=c.item_id,
        summary=require_text(c.summary, "summary"),
        report_back=d.actor == d.s.plan.monitoring_body,
    )


def complete_action_item(c: cmd.CompleteActionItem, d: Decision) -> None:
    require_status(d, {Status.IN_IMPLEMENTATION}, "complete an action item")
    may_act_for_item(d, c.item_id)
    assert d.s.plan is not None
    if c.item_id in d.s.plan.completed_items:
        raise Refusal(Rule.ITEM_COMPLETED, f"action item {c.item_id} is already completed")
    d.emit(ev.ActionItemCompleted, item_id=c.item_id, note=c.note)


def raise_issue(c: cmd.RaiseIssue, d: Decision) -> None:
    require_member(d, "raise an implementation issue")
    require_status(d, _ADOPTED, "raise an implementation issue")
    d.emit(
        ev.ImplementationIssueRaised,
        issue=len(d.s.issues) + 1,
        title=c.title,
        description=c.description,
    )


def propose_issue_resolution(c: cmd.ProposeIssueResolution, d: Decision) -> None:
    require_chair(d, "put a resolution under silence procedure")
    require_status(d, _ADOPTED, "propose an issue's resolution")
    issue = d.s.issue(c.issue)
    if not issue.is_open:
        raise Refusal(Rule.ISSUE_RESOLVED, f"implementation issue {c.issue} is already resolved")
    if issue.resolution_round is not None:
        raise Refusal(
            Rule.ROUND_OPEN,
            f"implementation issue {c.issue} already has round {issue.resolution_round} open",
        )
    require_future(d, c.deadline, "deadline")
    roster = d.roster()
    d.emit(
        ev.IssueResolutionProposed,
        issue=c.issue,
        round=len(d.s.rounds) + 1,
        text=c.text,
        text_hash=text_hash(c.text),
        roster_version=roster.version,
        members=roster.member_codes,
        deadline=c.deadline,
        reminder_at=reminder_at(d, c.deadline, c.reminder_before_seconds),
    )


def request_meeting(c: cmd.RequestMeeting, d: Decision) -> None:
    if d.actor != CHAIR:
        require_member(d, "request an extraordinary meeting")
    d.emit(ev.ExtraordinaryMeetingRequested, level=c.level, reason=require_text(c.reason, "reason"))


def complete_decision(c: cmd.CompleteDecision, d: Decision) -> None:
    require_chair(d, "complete a decision")
    require_status(d, {Status.IN_IMPLEMENTATION}, "complete the decision")
    assert d.s.plan is not None
    if d.s.plan.outstanding_items:
        raise Refusal(
            Rule.ITEMS_OUTSTANDING,
            "action items outstanding: " + ", ".join(d.s.plan.outstanding_items),
        )
    if d.s.open_issues:
        raise Refusal(
            Rule.ISSUES_OPEN,
            "implementation issues open: " + ", ".join(str(i.number) for i in d.s.open_issues),
        )
    d.emit(ev.DecisionCompleted, summary=c.summary)


def withdraw_decision(c: cmd.WithdrawDecision, d: Decision) -> None:
    if d.actor != d.s.proposer:
        raise Refusal(
            Rule.NOT_PROPOSER, f"only the proposer ({d.s.proposer}) may withdraw; {d.actor} may not"
        )
    status = d.s.suspended_from or d.s.status
    if status not in _BEFORE_ADOPTION:
        raise Refusal(
            Rule.WRONG_STATE,
            f"decision {d.s.decision_id} was adopted; it can no longer be withdrawn",
        )
    d.emit(ev.DecisionWithdrawn, reason=c.reason)


def supersede_decision(c: cmd.SupersedeDecision, d: Decision) -> None:
    require_chair(d, "record a supersession")
    status = d.s.suspended_from or d.s.status
    if status not in _ADOPTED | {Status.COMPLETED}:
        raise Refusal(
            Rule.WRONG_STATE,
            f"only an adopted decision can be superseded; {d.s.decision_id} is {d.s.status.value}",
        )
    if c.superseded_by == d.s.decision_id:
        raise Refusal(Rule.SELF_SUPERSESSION, "a decision cannot supersede itself")
    d.emit(ev.DecisionSuperseded, superseded_by=c.superseded_by, reason=c.reason)


def suspend_decision(c: cmd.SuspendDecision, d: Decision) -> None:
    require_chair(d, "suspend a decision")
    if d.s.status is Status.SUSPENDED or d.s.status in TERMINAL:
        raise Refusal(Rule.WRONG_STATE, f"decision {d.s.decision_id} is {d.s.status.value}")
    d.emit(ev.DecisionSuspended, reason=require_text(c.reason, "reason"))


def resume_decision(c: cmd.ResumeDecision, d: Decision) -> None:
    require_chair(d, "resume a decision")
    if d.s.status is not Status.SUSPENDED or d.s.suspended_at is None:
        raise Refusal(Rule.NOT_SUSPENDED, f"decision {d.s.decision_id} is not suspended")
    paused = int((d.now - d.s.suspended_at).total_seconds())
    if paused < 0:
        raise InvalidInput("now", "is before the suspension")
    d.emit(ev.DecisionResumed, reason=c.reason, paused_seconds=paused)


HANDLERS: dict[type[cmd.CommandBase], Handler] = {
    cmd.PlanImplementation: plan_implementation,
    cmd.ReportProgress: report_progress,
    cmd.CompleteActionItem: complete_action_item,
    cmd.RaiseIssue: raise_issue,
    cmd.ProposeIssueResolution: propose_issue_resolution,
    cmd.RequestMeeting: request_meeting,
    cmd.CompleteDecision: complete_decision,
    cmd.WithdrawDecision: withdraw_decision,
    cmd.SupersedeDecision: supersede_decision,
    cmd.SuspendDecision: suspend_decision,
    cmd.ResumeDecision: resume_decision,
}
