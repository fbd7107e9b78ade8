"""A decision's state now: the read model's copy topped up from the log equals the whole fold."""

from __future__ import annotations

from sqlalchemy import update

from domain.evolve import replay
from store import decision_events
from store.eventstore import EventStore
from store.projections import ProjectionRunner
from store.read_models import DecisionsProjection
from store.schema import decision_states
from store.states import LogReads, state_now
from tests.integration.store.raw_sql import raw_transaction
from tests.unit.domain.scenario import Scenario


async def record(store: EventStore, scenario: Scenario) -> None:
    version = await store.stream_version(scenario.decision_id)
    records = [decision_events.new_event(event) for event in scenario.events[version:]]
    await store.append(scenario.decision_id, version, records)


async def test_the_state_now_is_the_fold_of_every_stored_event_however_far_the_read_model_is(
    store: EventStore,
) -> None:
    scenario = Scenario("d-now").round_open()
    await record(store, scenario)
    assert await state_now(LogReads(store), "d-now") == scenario.state, "no read model row yet"

    await ProjectionRunner(store, [DecisionsProjection()]).catch_up()
    assert await state_now(LogReads(store), "d-now") == scenario.state, "the read model is current"

    scenario.answer(1, scenario.s.rounds[0].members[:4])
    await record(store, scenario)
    assert scenario.state is not None and scenario.state.version > 4
    assert await state_now(LogReads(store), "d-now") == scenario.state, (
        "the read model lags the log"
    )
    stored = await store.stream("d-now")
    assert scenario.state == replay(decision_events.domain_event(e) for e in stored)


async def test_an_unreadable_read_model_row_is_passed_by_and_an_unknown_decision_is_none(
    store: EventStore,
) -> None:
    scenario = Scenario("d-row").proposed()
    await record(store, scenario)
    await ProjectionRunner(store, [DecisionsProjection()]).catch_up()
    async with raw_transaction(store.url) as connection:
        await connection.execute(
            update(decision_states)
            .where(decision_states.c.decision_id == "d-row")
            .values(state_json='{"not": "a state"}')
        )

    assert await state_now(LogReads(store), "d-row") == scenario.state
    assert await state_now(LogReads(store), "d-unknown") is None
