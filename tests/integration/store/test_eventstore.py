"""The event store's contract, on every backend: appends, concurrency, idempotency, reads."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from domain.errors import Conflict, InvalidHistory, InvalidInput
from store.eventstore import EventStore
from store.hashing import GENESIS_HASH, chain_hash
from store.records import CommandRange
from store.schema import command_ranges, events
from tests.integration.store.conftest import T0, EventFactory
from tests.integration.store.raw_sql import raw_transaction


async def _event_count(store: EventStore) -> int:
    ((count,),) = await store.tables.rows(select(func.count()).select_from(events))
    return int(count)


async def test_an_appended_batch_is_numbered_from_the_head_and_chained(
    store: EventStore, new_event: EventFactory
) -> None:
    first = await store.append("d-2004-terrorism", 0, [new_event("d-2004-terrorism", 1)])
    batch = [new_event("d-2002-rome", version) for version in (1, 2)]
    stored = await store.append("d-2002-rome", 0, batch)

    assert [event.position for event in first + stored] == [1, 2, 3]
    assert first[0].prev_hash == GENESIS_HASH
    assert first[0].hash == chain_hash(GENESIS_HASH, first[0].body)
    assert stored[0].prev_hash == first[0].hash
    assert stored[0].stream_prev_hash == GENESIS_HASH
    assert stored[1].stream_prev_hash == stored[0].hash
    assert stored[1].hash == chain_hash(stored[0].hash, stored[1].body)
    assert await store.head() == (3, stored[1].hash)
    assert stored[0].payload == batch[0].payload
    assert stored[0].occurred_at == batch[0].occurred_at


async def test_the_body_is_the_canonical_json_of_the_event(
    store: EventStore, new_event: EventFactory
) -> None:
    (stored,) = await store.append("d-1", 0, [new_event("d-1", 1, payload={"b": 1, "a": "é"})])

    assert stored.body == (
        b'{"actor":"RUS","decision_id":"d-1","event_id":"' + stored.event_id.encode() + b'",'
        b'"occurred_at":"2004-12-09T10:00:00.000000Z","payload":{"a":"\xc3\xa9","b":1},'
        b'"position":1,"recorded_at":"'
        + stored.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()
        + b'","recorded_by":"member:RUS","schema_version":1,"stream_prev_hash":"'
        + GENESIS_HASH.encode()
        + b'","stream_version":1,"type":"ProposalSubmitted"}'
    )


async def test_a_decision_without_events_is_at_version_zero(store: EventStore) -> None:
    assert await store.stream_version("d-unknown") == 0
    assert await store.stream("d-unknown") == []
    assert await store.head() == (0, GENESIS_HASH)


async def test_appending_at_a_stale_version_is_a_conflict_that_writes_nothing(
    store: EventStore, new_event: EventFactory
) -> None:
    await store.append("d-1", 0, [new_event("d-1", 1)])

    with pytest.raises(
        Conflict,
        match=r"^decision d-1: expected stream version 0, but it is at 1, and its v1 .* actor",
    ):
        await store.append("d-1", 0, [new_event("d-1", 1, actor="USA")])
    with pytest.raises(
        Conflict, match=r"^decision d-1: expected stream version 0, .* part of this batch"
    ):
        await store.append("d-1", 0, [new_event("d-1", 1), new_event("d-1", 2)])
    with pytest.raises(
        Conflict, match=r"^decision d-1: expected stream version 3, but it is at 1$"
    ):
        await store.append("d-1", 3, [new_event("d-1", 4)])

    assert await _event_count(store) == 1


async def test_a_retried_batch_returns_the_stored_events_and_writes_nothing(
    store: EventStore, new_event: EventFactory
) -> None:
    batch = [new_event("d-1", 1), new_event("d-1", 2)]
    stored = await store.append("d-1", 0, batch)
    await store.append("d-1", 2, [new_event("d-1", 3)])

    retried = await store.append("d-1", 0, batch)

    assert retried == stored
    assert await _event_count(store) == 3


async def test_a_retry_with_other_content_is_a_conflict(
    store: EventStore, new_event: EventFactory
) -> None:
    original = new_event("d-1", 1)
    await store.append("d-1", 0, [original])
    changed = new_event("d-1", 1, payload={"title": "another text", "revision": 1})

    with pytest.raises(
        Conflict, match=rf"v1 \(event {original.event_id}\) was stored with a different payload"
    ):
        await store.append("d-1", 0, [changed])


async def test_a_retry_that_differs_only_in_a_boolean_for_an_integer_is_a_conflict(
    store: EventStore, new_event: EventFactory
) -> None:
    await store.append("d-1", 0, [new_event("d-1", 1, payload={"flag": 1})])

    with pytest.raises(Conflict, match="payload"):
        await store.append("d-1", 0, [new_event("d-1", 1, payload={"flag": True})])


def _range(key: str, first: int, last: int) -> CommandRange:
    return CommandRange(key, first, last, f"{key}-digest")


async def test_an_adopting_append_stores_the_batch_with_the_versions_of_its_commands(
    store: EventStore, new_event: EventFactory
) -> None:
    batch = [new_event("d-1", 1), new_event("d-1", 2), new_event("d-1", 3)]
    ranges = [_range("propose", 1, 1), _range("refer", 2, 3)]

    appended = await store.append_adopting("d-1", 0, batch, ranges)
    again = await store.append_adopting("d-1", 0, batch, ranges)

    assert not appended.adopted and [e.stream_version for e in appended.events] == [1, 2, 3]
    assert not again.adopted and again.events == appended.events, "a retry stores nothing"
    rows = await store.tables.rows(select(command_ranges).order_by(command_ranges.c.first_version))
    assert [(r.decision_id, r.idempotency_key, r.first_version, r.last_version) for r in rows] == [
        ("d-1", "propose", 1, 1),
        ("d-1", "refer", 2, 3),
    ]
    assert await _event_count(store) == 3


async def test_an_adopting_append_finding_other_events_returns_all_of_them_and_writes_nothing(
    store: EventStore, new_event: EventFactory
) -> None:
    await store.append_adopting("d-1", 0, [new_event("d-1", 1)], [_range("propose", 1, 1)])
    first_attempt = [new_event("d-1", 2), new_event("d-1", 3, actor="USA")]
    stored = await store.append_adopting("d-1", 1, first_attempt, [_range("a", 2, 2)])
    # Decided again later, by a task whose earlier attempt stored `first_attempt`:
    decided_again = [new_event("d-1", 2, occurred_at=T0 + timedelta(seconds=5))]

    adopted = await store.append_adopting("d-1", 1, decided_again, [_range("a", 2, 2)])

    assert adopted.adopted
    assert adopted.events == stored.events
    assert adopted.commands == [_range("a", 2, 2)]
    assert await _event_count(store) == 3
    with pytest.raises(Conflict, match="expected stream version 1, but it is at 3"):
        await store.append("d-1", 1, decided_again)


async def test_an_adopting_append_behind_a_gap_is_a_conflict_and_bad_ranges_are_invalid(
    store: EventStore, new_event: EventFactory
) -> None:
    with pytest.raises(Conflict, match="expected stream version 2, but it is at 0"):
        await store.append_adopting("d-1", 2, [new_event("d-1", 3)])
    with pytest.raises(InvalidInput, match=r"commands: 'x' names versions 1..2, outside .* 1..1"):
        await store.append_adopting("d-1", 0, [new_event("d-1", 1)], [_range("x", 1, 2)])
    with pytest.raises(InvalidInput, match="events"):
        await store.append_adopting("d-1", 0, [])

    assert await _event_count(store) == 0


async def test_a_batch_whose_versions_do_not_follow_the_expected_version_is_invalid(
    store: EventStore, new_event: EventFactory
) -> None:
    with pytest.raises(InvalidInput, match="stream_version"):
        await store.append("d-1", 0, [new_event("d-1", 1), new_event("d-1", 3)])
    with pytest.raises(InvalidInput, match="stream_version"):
        await store.append("d-1", 0, [new_event("d-1", 2)])
    with pytest.raises(InvalidInput, match="decision_id"):
        await store.append("d-1", 0, [new_event("d-2", 1)])

    assert await _event_count(store) == 0


async def test_a_batch_failing_on_its_third_event_stores_none_of_its_events(
    store: EventStore, new_event: EventFactory
) -> None:
    await store.append("d-other", 0, [new_event("d-other", 1)])
    # A row written around the store where the batch's third event will go: the insert fails
    # there, after two rows of the batch were written in the same transaction.
    async with raw_transaction(store.url) as connection:
        await connection.execute(
            text(
                "INSERT INTO events SELECT 4, event_id, 'd-stray', 1, type, schema_version, "
                "actor, recorded_by, occurred_at, recorded_at, stream_prev_hash, prev_hash, "
                "hash, body FROM events WHERE position = 1"
            )
        )
    batch = [new_event("d-1", version) for version in range(1, 5)]

    with pytest.raises(Conflict, match=r"d-1: the log holds a row the store did not write"):
        await store.append("d-1", 0, batch)

    assert await store.stream("d-1") == []
    assert (await store.head())[0] == 1
    async with raw_transaction(store.url) as connection:
        await connection.execute(text("DELETE FROM events WHERE position = 4"))
    appended = await store.append("d-1", 0, batch[:2])
    assert [event.position for event in appended] == [2, 3]


async def test_concurrent_appends_to_one_decision_let_exactly_one_writer_win_each_version(
    store: EventStore, new_event: EventFactory
) -> None:
    writers, rounds = 12, 4

    async def writer(name: int) -> tuple[int, int]:
        wins = conflicts = 0
        for _ in range(rounds):
            version = await store.stream_version("d-contested")
            candidate = new_event("d-contested", version + 1, actor=f"W{name}")
            try:
                await store.append("d-contested", version, [candidate])
                wins += 1
            except Conflict:
                conflicts += 1
        return wins, conflicts

    outcomes = await asyncio.gather(*(writer(name) for name in range(writers)))

    stream = await store.stream("d-contested")
    assert sum(wins for wins, _ in outcomes) == len(stream)
    assert sum(conflicts for _, conflicts in outcomes) == writers * rounds - len(stream)
    assert [event.stream_version for event in stream] == list(range(1, len(stream) + 1))
    assert [event.position for event in stream] == list(range(1, len(stream) + 1))


async def test_concurrent_appends_racing_for_the_same_version_have_a_single_winner(
    store: EventStore, new_event: EventFactory
) -> None:
    candidates = [new_event("d-1", 1, actor=f"W{name}") for name in range(16)]

    outcomes = await asyncio.gather(
        *(store.append("d-1", 0, [candidate]) for candidate in candidates),
        return_exceptions=True,
    )

    assert sum(isinstance(outcome, list) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, Conflict) for outcome in outcomes) == 15
    assert await store.head() == (1, (await store.stream("d-1"))[0].hash)


async def test_concurrent_appends_to_many_decisions_keep_positions_contiguous(
    store: EventStore, new_event: EventFactory
) -> None:
    decisions = [f"d-{number}" for number in range(10)]

    async def fill(decision_id: str) -> None:
        for version in range(1, 11, 2):
            batch = [new_event(decision_id, version), new_event(decision_id, version + 1)]
            await store.append(decision_id, version - 1, batch)

    await asyncio.gather(*(fill(decision_id) for decision_id in decisions))

    log = [event async for event in store.read_log()]
    assert [event.position for event in log] == list(range(1, 101))
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(log))
    for decision_id in decisions:
        versions = [event.stream_version for event in log if event.decision_id == decision_id]
        assert versions == list(range(1, 11))


async def test_a_reader_during_concurrent_appends_never_sees_a_gap(
    store: EventStore, new_event: EventFactory
) -> None:
    appending = True

    async def fill(decision_id: str) -> None:
        for version in range(1, 31, 3):
            batch = [new_event(decision_id, v) for v in range(version, version + 3)]
            await store.append(decision_id, version - 1, batch)

    async def read() -> int:
        reads = 0
        while appending:
            positions = [event.position async for event in store.read_log(page_size=7)]
            assert positions == list(range(1, len(positions) + 1))
            reads += 1
        return reads

    reader = asyncio.create_task(read())
    await asyncio.gather(*(fill(f"d-{number}") for number in range(6)))
    appending = False

    assert await reader > 0
    assert (await store.head())[0] == 180


async def test_a_cancelled_append_leaves_the_store_usable(
    store: EventStore, new_event: EventFactory
) -> None:
    pending = asyncio.create_task(store.append("d-1", 0, [new_event("d-1", 1)]))
    await asyncio.sleep(0)
    pending.cancel()
    await asyncio.gather(pending, return_exceptions=True)

    version = await store.stream_version("d-1")
    appended = await store.append("d-1", version, [new_event("d-1", version + 1)])

    assert [event.stream_version for event in await store.stream("d-1")] == list(
        range(1, version + 2)
    )
    assert appended[0].position == version + 1


async def test_the_log_is_read_in_pages_in_position_order(
    store: EventStore, new_event: EventFactory
) -> None:
    for decision_id in ("d-a", "d-b", "d-c"):
        await store.append(decision_id, 0, [new_event(decision_id, v) for v in range(1, 8)])

    everything = [event.position async for event in store.read_log(page_size=4)]
    later = [event.position async for event in store.read_log(from_position=17, page_size=2)]

    assert everything == list(range(1, 22))
    assert later == [17, 18, 19, 20, 21]
    assert [event async for event in store.read_log(from_position=22)] == []


async def test_a_stream_is_read_from_a_version(store: EventStore, new_event: EventFactory) -> None:
    await store.append("d-1", 0, [new_event("d-1", v) for v in range(1, 6)])
    await store.append("d-2", 0, [new_event("d-2", 1)])

    assert [event.stream_version for event in await store.stream("d-1", from_version=4)] == [4, 5]
    assert await store.stream_version("d-1") == 5


async def test_events_until_an_instant_are_those_that_had_occurred_by_then(
    store: EventStore, new_event: EventFactory
) -> None:
    await store.append("d-1", 0, [new_event("d-1", v) for v in range(1, 6)])

    as_of = await store.events_until("d-1", T0 + timedelta(hours=3))
    just_before = await store.events_until("d-1", T0 + timedelta(hours=3, microseconds=-1))

    assert [event.stream_version for event in as_of] == [1, 2, 3]
    assert [event.stream_version for event in just_before] == [1, 2]
    assert await store.events_until("d-1", T0) == []


@pytest.mark.parametrize("body", [b"{not json", b'{"position":2}', b"[]"])
async def test_a_stored_body_that_is_not_an_event_is_reported_naming_its_position(
    store: EventStore, new_event: EventFactory, body: bytes
) -> None:
    await store.append("d-1", 0, [new_event("d-1", v) for v in (1, 2)])
    async with raw_transaction(store.url) as connection:
        await connection.execute(
            text("UPDATE events SET body = :body WHERE position = 2"), {"body": body}
        )

    with pytest.raises(InvalidHistory, match=r"^the event at position 2 cannot be read .*verify"):
        await store.stream("d-1")
    log = store.read_log(page_size=1)
    assert (await anext(log)).position == 1
    with pytest.raises(InvalidHistory, match="position 2"):
        await anext(log)
