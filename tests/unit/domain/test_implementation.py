"""After adoption: the implementation plan, progress, action items and implementation issues."""

from __future__ import annotations

import pytest

from domain.decider import Practice
from domain.errors import InvalidInput, Refusal, Rule
from domain.roster import CHAIR
from domain.values import Status
from tests.unit.domain.scenario import Scenario

SYSTEM = {"principal": "system:clock"}


def test_the_chair_plans_implementation_with_items_a_monitoring_body_and_a_deadline() -> None:
    s = Scenario().planned()
    plan = s.s.plan
    assert s.s.status is Status.IN_IMPLEMENTATION and plan is not None
    assert [i.item_id for i in plan.action_items] == ["A1", "A2", "A3"]
    assert plan.monitoring_body == "PC"


def test_a_plan_is_refused_before_adoption_or_with_unknown_assignees() -> None:
    s = Scenario().round_open()
    item = {"item_id": "A1", "description": "d", "assignee": {"kind": "all_members"}}
    s.refused(
        Rule.WRONG_STATE,
        "plan_implementation",
        CHAIR,
        action_items=[item],
        report_back_deadline=s.later(days=30),
    )
    adopted = Scenario().adopted()
    bad = {"item_id": "A1", "description": "d", "assignee": {"kind": "member", "code": "CHE"}}
    adopted.refused(
        Rule.NOT_ON_ROSTER,
        "plan_implementation",
        CHAIR,
        action_items=[bad],
        report_back_deadline=adopted.later(days=30),
    )
    adopted.refused(
        Rule.NOT_ON_ROSTER,
        "plan_implementation",
        CHAIR,
        action_items=[item],
        monitoring_body="NOBODY",
        report_back_deadline=adopted.later(days=30),
    )
    with pytest.raises(InvalidInput, match="item id 'A1' appears twice"):
        adopted.do(
            "plan_implementation",
            CHAIR,
            action_items=[item, item],
            report_back_deadline=adopted.later(days=30),
        )


def test_progress_on_an_item_comes_from_its_assignee_or_the_chair() -> None:
    s = Scenario().planned()
    s.refused(Rule.ITEM_NOT_ASSIGNED, "report_progress", "USA", item_id="A2", summary="s")
    s.do("report_progress", "RUS", item_id="A2", summary="Financing data exchanged")
    s.do("report_progress", "USA", item_id="A1", summary="Assessment drafted")
    s.do("report_progress", CHAIR, item_id="A3", summary="Recorded for the committee")
    s.refused(Rule.NO_SUCH_ITEM, "report_progress", "USA", item_id="Z9", summary="s")
    assert s.s.plan is not None and s.s.plan.progress_reports == 3
    assert s.s.plan.report_back_received_at is None


def test_a_joint_item_is_completed_by_the_chair_or_monitoring_body_each_member_reports() -> None:
    s = Scenario().planned()
    s.do("report_progress", "USA", item_id="A1", summary="US assessment contributed")
    s.do("report_progress", "GBR", item_id="A1", summary="UK assessment contributed")
    s.refused(Rule.JOINT_ITEM, "complete_action_item", "GBR", item_id="A1")
    assert s.s.plan is not None and s.s.plan.outstanding_items[0] == "A1"
    [done] = s.do("complete_action_item", "PC", item_id="A1")
    assert done.actor == "PC" and "A1" in s.s.plan.completed_items
    reports = [e for e in s.events if e.type == "ProgressReported"]
    assert [(e.actor, e.summary) for e in reports] == [
        ("USA", "US assessment contributed"),
        ("GBR", "UK assessment contributed"),
    ], "each member's own report on the joint item is kept"
    s.do("complete_action_item", "RUS", item_id="A2")  # an item of its own: the member completes


def test_a_joint_item_of_a_decision_started_before_the_amendment_is_completed_as_then() -> None:
    from domain.decider import Practice, decide

    s = Scenario().planned()
    before = Practice(joint_items_by_chair=False)
    command = s.command("complete_action_item", "GBR", item_id="A1")
    [done] = decide(s.s, command, s.now, s.rosters, practice=before)
    assert done.type == "ActionItemCompleted" and done.actor == "GBR"


def test_a_report_by_the_monitoring_body_on_the_plan_is_the_report_back() -> None:
    s = Scenario().planned()
    item = "A3"  # the PC's own item: monitoring implementation
    [on_item] = s.do("report_progress", "PC", item_id=item, summary="Exchange under way")
    assert on_item.report_back is False, "a report on one item is progress on that item"
    assert s.s.plan is not None and s.s.plan.report_back_received_at is None
    [event] = s.do("report_progress", "PC", summary="Report to NRC Ambassadors")
    assert event.report_back is True
    received = s.now
    assert s.s.plan is not None and s.s.plan.report_back_received_at == received
    s.advance(days=3)
    s.do("report_progress", "PC", summary="A second report")
    assert s.s.plan.report_back_received_at == received, "received when it first came"
    # Before the amendment of 2026-12-06 the body's report on an item was its report-back too.
    before = Scenario(practice=Practice(amended_2026_12_06=False)).planned()
    [old] = before.do("report_progress", "PC", item_id=item, summary="Exchange under way")
    assert old.report_back is True


def test_an_implementation_issue_is_raised_by_a_member_and_settled_by_its_own_round() -> None:
    s = Scenario().planned()
    s.refused(Rule.WRONG_ROLE, "raise_issue", CHAIR, title="t")
    [raised] = s.do("raise_issue", "POL", title="Data exchange delayed", description="...")
    assert raised.issue == 1 and s.s.open_issues[0].raised_by == "POL"
    s.refused(
        Rule.WRONG_ROLE,
        "propose_issue_resolution",
        "POL",
        issue=1,
        text="t",
        deadline=s.later(days=3),
    )
    [opened] = s.do(
        "propose_issue_resolution",
        CHAIR,
        issue=1,
        text="Deliver by March",
        deadline=s.later(days=3),
    )
    assert opened.round == 2 and len(opened.members) == 27
    assert s.s.status is Status.IN_IMPLEMENTATION
    s.refused(
        Rule.ROUND_OPEN,
        "propose_issue_resolution",
        CHAIR,
        issue=1,
        text="t2",
        deadline=s.later(days=3),
    )
    s.answer(2, s.s.round(2).members)
    assert s.s.issue(1).resolved_at == s.now
    assert s.events[-1].type == "ImplementationIssueResolved"
    s.refused(
        Rule.ISSUE_RESOLVED,
        "propose_issue_resolution",
        CHAIR,
        issue=1,
        text="t3",
        deadline=s.later(days=3),
    )


def test_two_issues_run_their_own_rounds_and_a_failed_one_stays_open() -> None:
    s = Scenario().planned()
    s.do("raise_issue", "POL", title="First")
    s.do("raise_issue", "RUS", title="Second")
    s.do("propose_issue_resolution", CHAIR, issue=1, text="Fix one", deadline=s.later(days=2))
    s.do("propose_issue_resolution", CHAIR, issue=2, text="Fix two", deadline=s.later(days=4))
    s.do("break_silence", "USA", round=3, text_hash=s.s.round(3).text_hash, reasons="No")
    s.advance(days=2)
    s.do("close_round", "system", round=2, **SYSTEM)
    assert s.s.issue(1).resolved_at is not None and s.s.issue(2).is_open
    s.advance(days=2)
    s.do("close_round", "system", round=3, **SYSTEM)
    assert s.s.issue(2).is_open and s.s.issue(2).resolution_round is None
    assert s.s.failed_rounds == 0 and s.s.status is Status.IN_IMPLEMENTATION
    s.do(
        "propose_issue_resolution",
        CHAIR,
        issue=2,
        text="Fix two, revised",
        deadline=s.later(days=4),
    )
    assert s.s.issue(2).resolution_round == 4


def test_unknown_fields_in_a_command_are_rejected() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="extra_field"):
        Scenario().command("concur", "USA", round=1, text_hash="x", extra_field=1)


def test_a_refusal_is_a_concord_error_with_a_rule_code() -> None:
    s = Scenario().planned()
    with pytest.raises(Refusal) as caught:
        s.do("complete", CHAIR)
    assert caught.value.rule.value == "items_outstanding"
