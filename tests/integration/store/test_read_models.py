"""The decisions read models file what the domain's own fold says about each decision."""

from __future__ import annotations

from sqlalchemy import select

from domain.roster import CHAIR
from domain.state import DecisionState
from store import decision_events
from store.eventstore import EventStore
from store.hashing import format_instant
from store.projections import ProjectionRunner
from store.queries import pending_for_member
from store.read_models import DECISIONS_PROJECTION, DecisionsProjection
from store.schema import decision_states, decisions, owed_actions, pending_actions
from tests.integration.store.conftest import EventFactory
from tests.unit.domain.scenario import Scenario


async def record(store: EventStore, scenario: Scenario) -> None:
    """Append the scenario's events that the store does not hold yet."""
    version = await store.stream_version(scenario.decision_id)
    records = [decision_events.new_event(event) for event in scenario.events[version:]]
    await store.append(scenario.decision_id, version, records)


async def table(store: EventStore, name: str) -> list[dict[str, object]]:
    chosen = {
        "decisions": decisions,
        "pending": pending_actions,
        "states": decision_states,
        "owed": owed_actions,
    }[name]
    order = list(chosen.primary_key.columns) or [
        owed_actions.c.decision_id,
        owed_actions.c.kind,
        owed_actions.c.place,
        owed_actions.c.member,
    ]
    rows = await store.tables.rows(select(chosen).order_by(*order))
    return [dict(row._mapping) for row in rows]


def consensus_under_way() -> Scenario:
    scenario = Scenario("d-2004-terrorism").round_open()
    scenario.answer(1, scenario.s.rounds[0].members[:5])
    return scenario


def implementation_with_an_issue() -> Scenario:
    scenario = Scenario("d-2002-rome").planned()
    scenario.do("raise_issue", "POL", title="Uneven reporting", description="Two reports late")
    return scenario


async def test_a_decisions_overview_row_comes_from_its_domain_state(store: EventStore) -> None:
    runner = ProjectionRunner(store, [DecisionsProjection()])
    rounds, issues = consensus_under_way(), implementation_with_an_issue()
    for scenario in (rounds, issues):
        await record(store, scenario)

    await runner.catch_up()

    terrorism, rome = rounds.s, issues.s
    assert await table(store, "decisions") == [
        {
            "decision_id": "d-2002-rome",
            "title": rome.title,
            "area": str(rome.area),
            "state": "in_implementation",
            "proposer": rome.proposer,
            "open_round": None,
            "round_deadline": None,
            "open_issues": 1,
            "last_position": len(rounds.events) + len(issues.events),
            "last_event_type": "ImplementationIssueRaised",
        },
        {
            "decision_id": "d-2004-terrorism",
            "title": terrorism.title,
            "area": str(terrorism.area),
            "state": "under_consensus",
            "proposer": terrorism.proposer,
            "open_round": 1,
            "round_deadline": format_instant(terrorism.rounds[0].deadline),
            "open_issues": 0,
            "last_position": len(rounds.events),
            "last_event_type": "ConcurrenceRecorded",
        },
    ]


async def test_pending_actions_are_the_members_who_have_not_answered_the_open_round(
    store: EventStore,
) -> None:
    runner = ProjectionRunner(store, [DecisionsProjection()])
    scenario = consensus_under_way()
    await record(store, scenario)
    await runner.catch_up()
    members = scenario.s.rounds[0].members

    assert [row["member"] for row in await table(store, "pending")] == sorted(members[5:])

    text_hash = scenario.s.rounds[0].text_hash
    scenario.do("break_silence", members[5], round=1, text_hash=text_hash, reasons="Unclear")
    scenario.answer(1, members[6:8])
    await record(store, scenario)
    await runner.catch_up()

    assert scenario.s.rounds[0].pending() == tuple(members[8:])
    assert [row["member"] for row in await table(store, "pending")] == sorted(members[8:])


async def test_the_stored_state_is_the_domains_replay_of_the_stream(store: EventStore) -> None:
    runner = ProjectionRunner(store, [DecisionsProjection()])
    scenario = implementation_with_an_issue()
    await record(store, scenario)
    await runner.catch_up()

    [row] = await table(store, "states")

    assert DecisionState.model_validate_json(str(row["state_json"])) == scenario.s
    assert row["version"] == len(scenario.events)


async def test_rebuilding_the_decisions_read_models_gives_the_incremental_rows(
    store: EventStore,
) -> None:
    runner = ProjectionRunner(store, [DecisionsProjection()], batch_size=7)
    rounds, issues = Scenario("d-2004-terrorism").forwarded(), Scenario("d-2002-rome").planned()
    for step in range(3):
        for scenario in (rounds, issues):
            await record(store, scenario)
        await runner.catch_up()
        if step == 0:
            rounds.round_open()
        elif step == 1:
            rounds.answer(1, rounds.s.rounds[0].members[:3])
            issues.do("raise_issue", "RUS", title="Data exchange delayed", description="...")
    names = ("decisions", "pending", "states", "owed")
    incremental = [await table(store, name) for name in names]

    await runner.rebuild(DECISIONS_PROJECTION)

    assert [await table(store, name) for name in names] == incremental
    assert all(incremental)


async def test_an_event_the_domain_cannot_read_parks_its_decision_and_not_the_others(
    store: EventStore, new_event: EventFactory
) -> None:
    runner = ProjectionRunner(store, [DecisionsProjection()])
    await store.append("d-1", 0, [new_event("d-1", 1, payload={"title": "no text"})])
    scenario = consensus_under_way()
    await record(store, scenario)

    await runner.catch_up()

    [failure] = await runner.failures(DECISIONS_PROJECTION)
    assert (failure.decision_id, failure.position) == ("d-1", 1)
    assert "is not a valid ProposalSubmitted" in failure.reason
    assert [row["decision_id"] for row in await table(store, "decisions")] == [scenario.decision_id]
    assert await runner.position(DECISIONS_PROJECTION) == 1 + len(scenario.events)


async def test_a_member_owes_its_answers_and_its_action_items_but_no_answer_while_suspended(
    store: EventStore,
) -> None:
    runner = ProjectionRunner(store, [DecisionsProjection()])
    answering = Scenario("d-answering").round_open()
    implementing = Scenario("d-implementing").planned()
    paused = Scenario("d-paused").round_open()
    paused.do("suspend", CHAIR, reason="Consultations in capitals")
    for scenario in (answering, implementing, paused):
        await record(store, scenario)
    await runner.catch_up()

    owed = await pending_for_member(store, "RUS")
    by_gbr = await pending_for_member(store, "GBR")

    assert [(row.kind, row.decision_id, row.round, row.item_id) for row in owed] == [
        ("answer", "d-answering", 1, None),
        ("action_item", "d-implementing", None, "A1"),
        ("action_item", "d-implementing", None, "A2"),
    ]
    assert owed[0].deadline == answering.s.rounds[0].deadline
    assert [row.item_id for row in by_gbr if row.kind == "action_item"] == ["A1"]
    assert [row.joint for row in owed[1:]] == [True, False], "A1 is everyone's: RUS reports"
    # A body owes the items assigned to it, and not the members' joint ones.
    by_pc = await pending_for_member(store, "PC", body=True)
    assert [(row.decision_id, row.item_id, row.joint) for row in by_pc] == [
        ("d-implementing", "A3", False)
    ]
