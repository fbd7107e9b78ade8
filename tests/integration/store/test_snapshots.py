"""Point in time with signed snapshots: the state at any instant equals folding the events up
to it, whether it starts from a snapshot or not; a snapshot whose signature or event no longer
checks is reported and not used."""

from __future__ import annotations

from sqlalchemy import select, text

from audit.note import Signer
from audit.snapshots import SNAPSHOT_EVERY, state_at
from domain.evolve import replay
from store.decision_events import domain_event, new_event
from store.eventstore import EventStore
from store.schema import state_snapshots
from tests.integration.store.raw_sql import raw_transaction
from tests.unit.domain.scenario import Scenario


async def long_decision(store: EventStore, total: int) -> Scenario:
    scenario = Scenario("d-long").planned()
    members = scenario.s.rounds[0].members
    while len(scenario.events) < total:
        if len(scenario.events) % 100 == 0:
            scenario.advance(hours=1)
        member = members[len(scenario.events) % len(members)]
        scenario.do("report_progress", member, item_id="A1", summary=f"part {len(scenario.events)}")
    records = [new_event(e) for e in scenario.events]
    for start in range(0, len(records), 500):
        await store.append(scenario.decision_id, start, records[start : start + 500])
    return scenario


async def folded(store: EventStore, scenario: Scenario, instant: object) -> object:
    events = await store.events_until(scenario.decision_id, instant)  # type: ignore[arg-type]
    return replay(domain_event(e) for e in events)


async def test_the_state_at_any_instant_is_the_fold_of_its_events_with_or_without_snapshots(
    store: EventStore,
) -> None:
    scenario = await long_decision(store, 2_500)
    key = Signer.generate("nrc.example/concord")
    last = scenario.events[-1].occurred_at

    first, used = await state_at(store, scenario.decision_id, last, key)
    assert used is None and first == await folded(store, scenario, last)
    kept = await store.read(select(state_snapshots.c.stream_version))
    assert sorted(row.stream_version for row in kept) == [SNAPSHOT_EVERY, 2 * SNAPSHOT_EVERY]

    again, used = await state_at(store, scenario.decision_id, last, key)
    assert used == 2 * SNAPSHOT_EVERY and again == first
    for event in scenario.events[::250]:
        state, _ = await state_at(store, scenario.decision_id, event.occurred_at, key)
        assert state == await folded(store, scenario, event.occurred_at)
    without_key, used = await state_at(store, scenario.decision_id, last, None)
    assert used is None and without_key == first


async def test_a_snapshot_altered_or_outlived_by_a_rewritten_log_is_not_used(
    store: EventStore,
) -> None:
    scenario = await long_decision(store, 2_100)
    key = Signer.generate("nrc.example/concord")
    last = scenario.events[-1].occurred_at
    honest, _ = await state_at(store, scenario.decision_id, last, key)

    async with raw_transaction(store.url) as connection:
        await connection.execute(
            text(
                "UPDATE state_snapshots SET state_json = "
                "replace(state_json, 'in_implementation', 'completed') WHERE stream_version = :v"
            ),
            {"v": 2 * SNAPSHOT_EVERY},
        )
    state, used = await state_at(store, scenario.decision_id, last, key)
    assert used is None and state == honest, "an altered snapshot is not used"

    stranger = Signer.generate("nrc.example/concord")
    state, used = await state_at(store, scenario.decision_id, last, stranger)
    assert used is None and state == honest, "a snapshot signed with another key is not used"

    async with raw_transaction(store.url) as connection:
        await connection.execute(
            text(
                "UPDATE events SET hash = :h WHERE decision_id = 'd-long' AND stream_version = :v"
            ),
            {"h": "ab" * 32, "v": SNAPSHOT_EVERY},
        )
    before = scenario.events[SNAPSHOT_EVERY + 50].occurred_at
    state, used = await state_at(store, scenario.decision_id, before, key)
    assert used is None, "the log's event no longer carries the hash the snapshot was taken on"
