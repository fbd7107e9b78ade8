"""Rules after adoption: the implementation plan, progress on it, and implementation issues."""

from __future__ import annotations

from domain import commands as cmd
from domain import events as ev
from domain.checks import (
    Deciding,
    check_assignees,
    may_act_for_item,
    reminder_at,
    require_chair,
    require_future,
    require_member,
    require_silence,
    require_status,
    require_text,
)
from domain.errors import Refusal, Rule
from domain.roster import CHAIR
from domain.values import IN_FORCE, AssigneeKind, Status, text_hash


def plan_implementation(c: cmd.PlanImplementation, d: Deciding) -> None:
    require_chair(d, "plan the implementation")
    require_status(d, {Status.ADOPTED}, "plan the implementation")
    roster = d.roster()
    check_assignees(d, c.action_items, roster)
    monitoring = c.monitoring_body or (
        roster.preparatory_committee.code if roster.has_preparatory_committee else d.state.body
    )
    if not roster.is_body(monitoring):
        raise Refusal(
            Rule.NOT_ON_ROSTER,
            f"monitoring body {monitoring} is not a body of the Council",
            member=monitoring,
        )
    require_future(d, c.report_back_deadline, "report_back_deadline")
    d.emit(
        ev.ImplementationPlanned(
            **d.envelope(),
            action_items=c.action_items,
            monitoring_body=monitoring,
            report_back_deadline=c.report_back_deadline,
            reminder_at=reminder_at(d, c.report_back_deadline, c.reminder_before_seconds),
        )
    )


def report_progress(c: cmd.ReportProgress, d: Deciding) -> None:
    require_status(d, {Status.IN_IMPLEMENTATION}, "report progress")
    may_act_for_item(d, c.item_id)
    plan = d.state.plan
    assert plan is not None
    summary = require_text(c.summary, "summary")
    d.emit(
        ev.ProgressReported(
            **d.envelope(),
            item_id=c.item_id,
            summary=summary,
            # The monitoring body's report on the plan as a whole is its report-back; its
            # report on one item is progress on that item (both were, before 2026-12-06).
            report_back=d.actor == plan.monitoring_body
            and (c.item_id is None or not d.practice.amended_2026_12_06),
        )
    )


def complete_action_item(c: cmd.CompleteActionItem, d: Deciding) -> None:
    require_status(d, {Status.IN_IMPLEMENTATION}, "complete an action item")
    plan = d.state.plan
    assert plan is not None
    item = plan.item(c.item_id)
    joint = item.assignee.kind is AssigneeKind.ALL_MEMBERS and d.practice.joint_items_by_chair
    if not joint:
        may_act_for_item(d, c.item_id)
    elif d.actor not in (CHAIR, plan.monitoring_body):
        # One member's part done is not the joint item done: each reports its own part, and
        # the item is complete when the chair or the monitoring body records it so.
        raise Refusal(
            Rule.JOINT_ITEM,
            f"action item {c.item_id} is assigned to all members jointly: the chair or the "
            f"monitoring body ({plan.monitoring_body}) completes it; {d.actor} reports its "
            "own part as progress",
            item=c.item_id,
            body=plan.monitoring_body,
            actor=d.actor,
        )
    if c.item_id in plan.completed_items:
        raise Refusal(
            Rule.ITEM_COMPLETED, f"action item {c.item_id} is already completed", item=c.item_id
        )
    d.emit(ev.ActionItemCompleted(**d.envelope(), item_id=c.item_id, note=c.note))


def raise_issue(c: cmd.RaiseIssue, d: Deciding) -> None:
    require_member(d, "raise an implementation issue")
    require_status(d, IN_FORCE, "raise an implementation issue")
    d.emit(
        ev.ImplementationIssueRaised(
            **d.envelope(),
            issue=len(d.state.issues) + 1,
            title=c.title,
            description=c.description,
        )
    )


def propose_issue_resolution(c: cmd.ProposeIssueResolution, d: Deciding) -> None:
    require_chair(d, "put a resolution under silence procedure")
    require_status(d, IN_FORCE, "propose an issue's resolution")
    issue = d.state.issue(c.issue)
    if not issue.is_open:
        raise Refusal(
            Rule.ISSUE_RESOLVED,
            f"implementation issue {c.issue} is already resolved",
            issue=c.issue,
        )
    if issue.resolution_round is not None:
        raise Refusal(
            Rule.ROUND_OPEN,
            f"implementation issue {c.issue} already has round {issue.resolution_round} open",
            issue=c.issue,
            round=issue.resolution_round,
        )
    require_future(d, c.deadline, "deadline")
    require_silence(d, d.now, c.deadline, "deadline")
    roster = d.roster()
    d.emit(
        ev.IssueResolutionProposed(
            **d.envelope(),
            issue=c.issue,
            round=len(d.state.rounds) + 1,
            text=c.text,
            text_hash=text_hash(c.text),
            roster_version=roster.version,
            members=roster.member_codes,
            deadline=c.deadline,
            reminder_at=reminder_at(d, c.deadline, c.reminder_before_seconds),
        )
    )
