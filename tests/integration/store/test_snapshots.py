"""Point in time with signed snapshots: the state at any instant equals folding the events up
to it, whether it starts from a snapshot or not; a snapshot whose signature or event no longer
checks is reported and not used."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from audit.note import Signer
from audit.snapshots import SNAPSHOT_EVERY, state_at
from domain.evolve import replay
from store.decision_events import domain_event, new_event
from store.eventstore import EventStore, open_store
from store.migrate import upgrade
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
    kept = await store.tables.rows(select(state_snapshots.c.stream_version))
    assert sorted(row.stream_version for row in kept) == [SNAPSHOT_EVERY, 2 * SNAPSHOT_EVERY]

    again, used = await state_at(store, scenario.decision_id, last, key)
    assert used == 2 * SNAPSHOT_EVERY and again == first
    for event in scenario.events[::250]:
        state, _ = await state_at(store, scenario.decision_id, event.occurred_at, key)
        assert state == await folded(store, scenario, event.occurred_at)
    without_key, used = await state_at(store, scenario.decision_id, last, None)
    assert used is None and without_key == first


async def test_the_state_through_a_version_is_the_fold_of_its_first_events(
    store: EventStore,
) -> None:
    scenario = await long_decision(store, 2_200)
    key = Signer.generate("nrc.example/concord")
    last = scenario.events[-1].occurred_at
    await state_at(store, scenario.decision_id, last, key)  # keeps the snapshots
    stream = await store.stream(scenario.decision_id)
    expected = ((1, None), (999, None), (1_000, 1_000), (1_750, 1_000), (2_200, 2_000))
    for version, snapshot in expected:
        state, used = await state_at(store, scenario.decision_id, None, key, through=version)
        assert used == snapshot
        assert state == replay(domain_event(e) for e in stream[:version])
    early = scenario.events[500].occurred_at
    state, used = await state_at(store, scenario.decision_id, early, key, through=1_750)
    assert used is None and state == await folded(store, scenario, early)


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


def test_the_state_at_any_instant_and_version_is_the_fold_of_the_events_by_then(
    tmp_path: Path,
) -> None:
    """Property: for any instant and any version bound, with or without the log's key (and so
    with or without snapshots), the state is the fold of exactly the events by then."""
    loop = asyncio.new_event_loop()
    url = f"sqlite+aiosqlite:///{tmp_path / 'concord.db'}"
    loop.run_until_complete(upgrade(url))
    store = loop.run_until_complete(open_store(url))
    try:
        scenario = loop.run_until_complete(long_decision(store, 2_300))
        decision_id = scenario.decision_id
        stream = loop.run_until_complete(store.stream(decision_id))
        key = Signer.generate("nrc.example/concord")
        first, last = stream[0].occurred_at, stream[-1].occurred_at
        span = int((last - first).total_seconds())

        @settings(max_examples=60, deadline=None)
        @given(
            offset=st.integers(-3_600, span + 3_600),
            through=st.none() | st.integers(1, len(stream) + 5),
            keyed=st.booleans(),
        )
        def check(offset: int, through: int | None, keyed: bool) -> None:
            instant = first + timedelta(seconds=offset)
            state, _ = loop.run_until_complete(
                state_at(store, decision_id, instant, key if keyed else None, through=through)
            )
            by_then = [
                domain_event(e)
                for e in stream
                if e.occurred_at <= instant and (through is None or e.stream_version <= through)
            ]
            assert state == replay(by_then)

        check()
    finally:
        loop.run_until_complete(store.close())
        loop.close()
