"""The procedure's clock: which deadline acts next, and what Concord does when it falls due."""

from __future__ import annotations

from datetime import datetime

from domain import commands as cmd
from domain import events as ev
from domain.checks import Deciding, require_open_round, require_system
from domain.errors import Refusal, Rule
from domain.state import DecisionState
from domain.values import SYSTEM, TERMINAL, DeadlineTarget, Frozen, Status

CLOCK_PRINCIPAL = "system:clock"


class DueCommand(Frozen):
    """A command the clock issues at `at`, unless the decision moves on before then."""

    at: datetime
    command: cmd.CloseRound | cmd.SendReminders | cmd.FlagMissedDeadline


def send_reminders(c: cmd.SendReminders, d: Deciding) -> None:
    require_system(d, "send reminders")
    if c.target is DeadlineTarget.ROUND:
        r = require_open_round(d, c.round or 0)
        if r.reminder_at is None or d.now < r.reminder_at:
            raise Refusal(
                Rule.DEADLINE_NOT_REACHED,
                f"round {r.number} has no reminder due",
                round=r.number,
                now=d.now.isoformat(),
            )
        if r.reminded:
            raise Refusal(
                Rule.ALREADY_REMINDED,
                f"round {r.number}'s reminders were sent",
                round=r.number,
                deadline=r.deadline.isoformat(),
            )
        if not r.pending():
            raise Refusal(
                Rule.NOTHING_TO_REMIND,
                f"every member has answered round {r.number}",
                decision=d.state.decision_id,
                round=r.number,
            )
        d.emit(
            ev.RemindersSent(
                **d.envelope(),
                target=c.target,
                round=r.number,
                recipients=r.pending(),
                deadline=r.deadline,
            )
        )
        return
    plan = d.state.plan
    if plan is None or plan.report_back_received_at is not None or plan.reminder_at is None:
        raise Refusal(
            Rule.NOTHING_TO_REMIND, "no report back is awaited", decision=d.state.decision_id
        )
    if d.now < plan.reminder_at:
        raise Refusal(
            Rule.DEADLINE_NOT_REACHED, "the report-back reminder is not due", now=d.now.isoformat()
        )
    if plan.reminded:
        raise Refusal(
            Rule.ALREADY_REMINDED,
            "the report-back reminder was sent",
            deadline=plan.report_back_deadline.isoformat(),
        )
    d.emit(
        ev.RemindersSent(
            **d.envelope(),
            target=c.target,
            recipients=(plan.monitoring_body,),
            deadline=plan.report_back_deadline,
        )
    )


def flag_missed_deadline(c: cmd.FlagMissedDeadline, d: Deciding) -> None:
    require_system(d, "flag a missed deadline")
    if c.target is DeadlineTarget.REVIEW:
        review = d.state.review
        if d.state.status is not Status.IN_REVIEW or review is None or review.outcome is not None:
            raise Refusal(Rule.WRONG_STATE, "no review is under way", status=d.state.status.value)
        if d.now < review.deadline:
            raise Refusal(
                Rule.DEADLINE_NOT_REACHED,
                "the review deadline has not passed",
                now=d.now.isoformat(),
            )
        if review.deadline_flagged:
            raise Refusal(
                Rule.ALREADY_FLAGGED,
                "the missed review deadline is already flagged",
                deadline=review.deadline.isoformat(),
            )
        d.emit(ev.ReviewDeadlineMissed(**d.envelope(), review_deadline=review.deadline))
        return
    plan = d.state.plan
    if plan is None or d.state.status is not Status.IN_IMPLEMENTATION:
        raise Refusal(
            Rule.WRONG_STATE, "there is no implementation plan", status=d.state.status.value
        )
    if plan.report_back_received_at is not None:
        raise Refusal(
            Rule.REPORT_RECEIVED,
            "the report back was received",
            received=plan.report_back_received_at.isoformat(),
        )
    if d.now < plan.report_back_deadline:
        raise Refusal(
            Rule.DEADLINE_NOT_REACHED,
            "the report-back deadline has not passed",
            now=d.now.isoformat(),
        )
    if plan.deadline_flagged:
        raise Refusal(
            Rule.ALREADY_FLAGGED,
            "the missed report deadline is already flagged",
            deadline=plan.report_back_deadline.isoformat(),
        )
    d.emit(
        ev.ReportDeadlineMissed(
            **d.envelope(),
            report_back_deadline=plan.report_back_deadline,
            monitoring_body=plan.monitoring_body,
        )
    )


def due_commands(state: DecisionState) -> list[DueCommand]:
    """Every command the clock will issue for `state`, earliest first; empty when nothing waits."""
    if state.status in TERMINAL or state.status is Status.SUSPENDED:
        return []
    common = cmd.CommandHeader(
        decision_id=state.decision_id, actor=SYSTEM, recorded_by=CLOCK_PRINCIPAL
    )
    due: list[DueCommand] = []
    for r in state.open_rounds:
        if r.reminder_at is not None and not r.reminded and r.pending():
            due.append(
                DueCommand(
                    at=r.reminder_at,
                    command=cmd.SendReminders(
                        target=DeadlineTarget.ROUND, round=r.number, **common
                    ),
                )
            )
        due.append(DueCommand(at=r.deadline, command=cmd.CloseRound(round=r.number, **common)))
    review = state.review
    if (
        state.status is Status.IN_REVIEW
        and review is not None
        and review.outcome is None
        and not review.deadline_flagged
    ):
        due.append(
            DueCommand(
                at=review.deadline,
                command=cmd.FlagMissedDeadline(target=DeadlineTarget.REVIEW, **common),
            )
        )
    plan = state.plan
    if (
        state.status is Status.IN_IMPLEMENTATION
        and plan is not None
        and plan.report_back_received_at is None
    ):
        if plan.reminder_at is not None and not plan.reminded:
            due.append(
                DueCommand(
                    at=plan.reminder_at,
                    command=cmd.SendReminders(target=DeadlineTarget.REPORT_BACK, **common),
                )
            )
        if not plan.deadline_flagged:
            due.append(
                DueCommand(
                    at=plan.report_back_deadline,
                    command=cmd.FlagMissedDeadline(target=DeadlineTarget.REPORT_BACK, **common),
                )
            )
    return sorted(due, key=lambda item: item.at)
