"""What a member owes is filed as rows by the projector, and read back exactly as the domain's
states say it: the answers it can give now, its own action items and every member's joint ones."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from domain.nrc import NRC_ROSTERS
from domain.roster import CHAIR
from domain.state import DecisionState
from domain.values import AssigneeKind
from store.eventstore import EventStore
from store.projections import ProjectionRunner
from store.queries import PendingRow, pending_for_member
from store.read_models import DecisionsProjection
from tests.integration.store.test_read_models import record
from tests.unit.domain.scenario import Scenario


def owed_as_the_states_say(states: Iterable[DecisionState], member: str) -> list[PendingRow]:
    """What `member` owes, read from the states themselves, soonest deadline first: how
    `pending_for_member` answered before it had rows of its own to read."""
    owed: list[PendingRow] = []
    for state in states:
        owed.extend(
            PendingRow(
                kind="answer",
                decision_id=state.decision_id,
                title=state.title,
                round=r.number,
                subject=r.subject,
                deadline=r.deadline,
            )
            for r in state.pending_for(member)
        )
        report_back = state.plan.report_back_deadline if state.plan else None
        owed.extend(
            PendingRow(
                kind="action_item",
                decision_id=state.decision_id,
                title=state.title,
                item_id=item.item_id,
                subject=item.description,
                deadline=item.due or report_back,
                joint=item.assignee.kind is AssigneeKind.ALL_MEMBERS,
            )
            for item in state.items_owed_by(member)
        )
    latest = datetime.max.replace(tzinfo=UTC)
    return sorted(owed, key=lambda row: (row.deadline or latest, row.decision_id, row.kind))


def items(*specs: tuple[str, dict[str, str], str | None]) -> list[dict[str, object]]:
    return [
        {"item_id": item_id, "description": f"Item {item_id}", "assignee": assignee, "due": due}
        for item_id, assignee, due in specs
    ]


EVERYONE = {"kind": "all_members"}
SAME_DAY = "2005-09-01T12:00:00+02:00"


def decisions_under_way() -> list[Scenario]:
    """Rounds partly answered, plans whose items tie on their due dates (a joint one, a body's,
    some done), two issues under resolution at one deadline, suspensions, deadlines given with
    an offset."""
    answering = Scenario("d-answering").forwarded()
    answering.do("open_round", CHAIR, deadline="2004-12-20T18:00:00+01:00")
    answering.answer(1, answering.s.rounds[0].members[1::2])
    planned = Scenario("d-planned").planned(
        action_items=items(
            ("B2", {"kind": "member", "code": "RUS"}, SAME_DAY),
            ("A1", EVERYONE, SAME_DAY),
            ("C3", {"kind": "member", "code": "RUS"}, None),
            ("D4", {"kind": "body", "code": "PC"}, SAME_DAY),
            ("E5", {"kind": "member", "code": "USA"}, None),
        )
    )
    planned.do("complete_action_item", CHAIR, item_id="E5")
    for number, title in enumerate(("Late reports", "Uneven reporting"), start=1):
        planned.do("raise_issue", "POL", title=title, description="")
        text = f"Resolution {number}: the members report every quarter."
        planned.do("propose_issue_resolution", CHAIR, issue=number, text=text, deadline=SAME_DAY)
    planned.answer(2, ["GBR"])
    paused_round = Scenario("d-paused-round").round_open()
    paused_round.do("suspend", CHAIR, reason="Consultations in capitals")
    paused_plan = Scenario("d-paused-plan").planned()
    paused_plan.do("suspend", CHAIR, reason="Consultations in capitals")
    closed = Scenario("d-closed").planned()
    for item_id in ("A1", "A2", "A3"):
        closed.do("complete_action_item", CHAIR, item_id=item_id)
    closed.do("complete", CHAIR)
    return [answering, planned, paused_round, paused_plan, closed]


async def test_each_member_owes_what_the_domains_states_say_in_their_order_and_offsets(
    store: EventStore,
) -> None:
    runner = ProjectionRunner(store, [DecisionsProjection()])
    scenarios = decisions_under_way()
    for scenario in scenarios:
        await record(store, scenario)
    await runner.catch_up()
    states = [scenario.s for scenario in scenarios]

    for member in (*NRC_ROSTERS.latest.member_codes, "XYZ"):
        owed = await pending_for_member(store, member)
        expected = owed_as_the_states_say(states, member)
        assert [row.model_dump_json() for row in owed] == [
            row.model_dump_json() for row in expected
        ], member

    by_rus = await pending_for_member(store, "RUS")
    assert [(row.decision_id, row.round, row.item_id) for row in by_rus] == [
        ("d-answering", 1, None),
        ("d-planned", None, "C3"),
        ("d-planned", None, "B2"),
        ("d-planned", None, "A1"),
        ("d-planned", 2, None),
        ("d-planned", 3, None),
    ]
    assert by_rus[0].deadline is not None and by_rus[0].deadline.isoformat().endswith("+01:00")


async def test_what_a_member_owes_goes_as_it_answers_and_items_are_done_and_while_suspended(
    store: EventStore,
) -> None:
    runner = ProjectionRunner(store, [DecisionsProjection()])
    consensus, plan = Scenario("d-consensus").round_open(), Scenario("d-plan").planned()

    async def owed_by(member: str) -> list[tuple[str, int | None, str | None]]:
        for scenario in (consensus, plan):
            await record(store, scenario)
        await runner.catch_up()
        rows = await pending_for_member(store, member)
        assert rows == owed_as_the_states_say([consensus.s, plan.s], member)
        return [(row.decision_id, row.round, row.item_id) for row in rows]

    everything = [("d-consensus", 1, None), ("d-plan", None, "A1"), ("d-plan", None, "A2")]
    assert await owed_by("RUS") == everything

    consensus.answer(1, ["RUS"])
    plan.do("complete_action_item", CHAIR, item_id="A2")
    assert await owed_by("RUS") == [("d-plan", None, "A1")]
    assert await owed_by("GBR") == [("d-consensus", 1, None), ("d-plan", None, "A1")]

    for scenario in (consensus, plan):
        scenario.do("suspend", CHAIR, reason="Consultations in capitals")
    assert await owed_by("GBR") == []

    for scenario in (consensus, plan):
        scenario.do("resume", CHAIR)
    assert await owed_by("GBR") == [("d-consensus", 1, None), ("d-plan", None, "A1")]
