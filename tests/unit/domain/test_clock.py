"""The procedure's clock: reminders, deadlines, and what falls due next."""

from __future__ import annotations

import pytest

from domain.clock import due_commands
from domain.errors import InvalidInput, Rule
from domain.roster import CHAIR
from tests.unit.domain.scenario import Scenario

SYSTEM = {"principal": "system:clock"}


def test_reminders_go_to_members_who_have_not_answered_once_before_the_deadline() -> None:
    s = Scenario().round_open(days=3, reminder_before_seconds=86_400)
    s.answer(1, ["USA", "GBR"])
    s.refused(
        Rule.DEADLINE_NOT_REACHED, "send_reminders", "system", target="round", round=1, **SYSTEM
    )
    s.advance(days=2)
    [event] = s.do("send_reminders", "system", target="round", round=1, **SYSTEM)
    assert "USA" not in event.recipients and "RUS" in event.recipients
    assert len(event.recipients) == 25
    s.refused(Rule.ALREADY_REMINDED, "send_reminders", "system", target="round", round=1, **SYSTEM)


def test_only_the_clock_sends_reminders_and_flags_deadlines() -> None:
    s = Scenario().round_open(days=3, reminder_before_seconds=86_400)
    s.refused(Rule.WRONG_ROLE, "send_reminders", CHAIR, target="round", round=1)
    s.refused(
        Rule.WRONG_ROLE, "send_reminders", "system", principal="operator:x", target="round", round=1
    )


def test_a_missed_report_back_deadline_is_flagged_once() -> None:
    s = Scenario().planned(reminder_before_seconds=7 * 86_400)
    s.advance(days=173)
    [reminder] = s.do("send_reminders", "system", target="report_back", **SYSTEM)
    assert reminder.recipients == ("PC",)
    s.advance(days=7)
    [flag] = s.do("flag_missed_deadline", "system", target="report_back", **SYSTEM)
    assert flag.type == "ReportDeadlineMissed"
    s.refused(
        Rule.ALREADY_FLAGGED, "flag_missed_deadline", "system", target="report_back", **SYSTEM
    )
    s.do("report_progress", "PC", summary="Late report")
    assert s.s.plan is not None and s.s.plan.report_back_received_at is not None


def test_a_missed_review_deadline_is_flagged() -> None:
    s = Scenario().proposed()
    s.do("refer", CHAIR)
    s.advance(days=14)
    [event] = s.do("flag_missed_deadline", "system", target="review", **SYSTEM)
    assert event.type == "ReviewDeadlineMissed"


def test_due_commands_follow_the_state_and_each_is_accepted_when_due() -> None:
    s = Scenario().round_open(days=3, reminder_before_seconds=86_400)
    due = due_commands(s.s)
    assert [d.command.kind for d in due] == ["send_reminders", "close_round"]
    for item in due:
        s.now = item.at
        assert s.execute(item.command)
    assert s.s.status.value == "adopted"
    assert due_commands(s.s) == []


def test_nothing_is_due_while_suspended() -> None:
    s = Scenario().round_open(days=3)
    s.do("suspend", CHAIR, reason="r")
    assert due_commands(s.s) == []


def test_a_reminder_that_would_come_before_now_is_refused_not_dropped() -> None:
    s = Scenario().forwarded()
    with pytest.raises(InvalidInput, match="would come before now") as refused:
        s.do("open_round", CHAIR, deadline=s.later(days=2), reminder_before_seconds=3 * 86_400)
    assert refused.value.field == "reminder_before_seconds"
    assert s.s.rounds == ()
