"""The projection runner applies each log event once, in order, and rebuilds to the same rows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import InvalidHistory, NotFound
from store.engine import insert_unless_present
from store.eventstore import EventStore
from store.projections import ProjectionRunner
from store.records import StoredEvent
from tests.integration.store.conftest import EventFactory
from tests.integration.store.raw_sql import raw_transaction

test_metadata = MetaData()
event_counts = Table(
    "test_event_counts",
    test_metadata,
    Column("decision_id", String(63), primary_key=True),
    Column("events", Integer, nullable=False),
    Column("last_position", Integer, nullable=False),
)


class EventCounts:
    """A small read model: how many events each decision has, and its last position."""

    name = "test-event-counts"
    tables = (event_counts,)

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def apply(self, connection: AsyncConnection, batch: Sequence[StoredEvent]) -> None:
        self.batches.append([event.position for event in batch])
        for event in batch:
            await connection.execute(
                insert_unless_present(
                    connection.dialect.name,
                    event_counts,
                    ["decision_id"],
                    {"decision_id": event.decision_id, "events": 0, "last_position": 0},
                )
            )
            await connection.execute(
                update(event_counts)
                .where(event_counts.c.decision_id == event.decision_id)
                .values(events=event_counts.c.events + 1, last_position=event.position)
            )


class RefusingCounts(EventCounts):
    """Counts events, but cannot apply the second event of decision d-bad."""

    async def apply(self, connection: AsyncConnection, batch: Sequence[StoredEvent]) -> None:
        for event in batch:
            if (event.decision_id, event.stream_version) == ("d-bad", 2):
                raise InvalidHistory(f"the event at position {event.position} is refused")
        await super().apply(connection, batch)


@pytest.fixture
async def counts_table(store: EventStore) -> AsyncIterator[None]:
    async with raw_transaction(store.url) as connection:
        await connection.run_sync(test_metadata.create_all)
    yield
    async with raw_transaction(store.url) as connection:
        await connection.run_sync(test_metadata.drop_all)


async def _rows(store: EventStore) -> list[tuple[str, int, int]]:
    rows = await store.tables.rows(select(event_counts).order_by(event_counts.c.decision_id))
    return [(row.decision_id, row.events, row.last_position) for row in rows]


async def _append_many(store: EventStore, new_event: EventFactory, numbers: range) -> None:
    """Three events for each decision d-<number>."""
    for number in numbers:
        decision_id = f"d-{number}"
        await store.append(decision_id, 0, [new_event(decision_id, v) for v in range(1, 4)])


@pytest.mark.usefixtures("counts_table")
async def test_a_projection_applies_new_events_once_and_tracks_its_position(
    store: EventStore, new_event: EventFactory
) -> None:
    projection = EventCounts()
    runner = ProjectionRunner(store, [projection], batch_size=4)
    await _append_many(store, new_event, range(2))

    assert await runner.position(projection.name) == 0
    assert await runner.catch_up() == 6
    assert await runner.catch_up() == 0
    await _append_many(store, new_event, range(2, 3))
    assert await runner.catch_up() == 3

    assert await runner.position(projection.name) == 9
    assert await _rows(store) == [("d-0", 3, 3), ("d-1", 3, 6), ("d-2", 3, 9)]
    assert projection.batches == [[1, 2, 3, 4], [5, 6], [7, 8, 9]]


@pytest.mark.usefixtures("counts_table")
async def test_rebuilding_a_projection_gives_the_rows_of_incremental_runs(
    store: EventStore, new_event: EventFactory
) -> None:
    runner = ProjectionRunner(store, [EventCounts()], batch_size=5)
    for numbers in (range(1), range(1, 4), range(4, 8)):
        await _append_many(store, new_event, numbers)
        await runner.catch_up()
    incremental = await _rows(store)

    replayed = await runner.rebuild("test-event-counts")

    assert replayed == 24
    assert await _rows(store) == incremental
    assert await runner.position("test-event-counts") == 24


@pytest.mark.usefixtures("counts_table")
async def test_concurrent_runners_never_apply_an_event_twice(
    store: EventStore, new_event: EventFactory
) -> None:
    await _append_many(store, new_event, range(5))
    runners = [ProjectionRunner(store, [EventCounts()], batch_size=2) for _ in range(4)]

    applied = await asyncio.gather(*(runner.catch_up() for runner in runners))

    assert sum(applied) == 15
    assert await _rows(store) == [(f"d-{n}", 3, 3 * n + 3) for n in range(5)]


async def test_an_unknown_projection_is_not_found(store: EventStore) -> None:
    with pytest.raises(NotFound, match="no projection named 'decisions-typo'"):
        await ProjectionRunner(store, []).rebuild("decisions-typo")


async def _tamper(store: EventStore, statement: str, **params: object) -> None:
    async with raw_transaction(store.url) as connection:
        await connection.execute(text(statement), params)


@pytest.mark.usefixtures("counts_table")
async def test_an_unreadable_event_parks_its_decision_and_the_others_stay_current(
    store: EventStore, new_event: EventFactory
) -> None:
    await _append_many(store, new_event, range(3))  # d-1 is at positions 4, 5 and 6
    await _tamper(store, "UPDATE events SET body = :body WHERE position = 5", body=b"{not json")
    runner = ProjectionRunner(store, [EventCounts()], batch_size=4)

    assert await runner.catch_up() == 7
    await store.append("d-1", 3, [new_event("d-1", 4)])
    await _append_many(store, new_event, range(3, 4))
    assert await runner.catch_up() == 3
    assert await runner.catch_up() == 0

    [failure] = await runner.failures("test-event-counts")
    assert (failure.decision_id, failure.position) == ("d-1", 5)
    assert "position 5 cannot be read" in failure.reason
    assert await _rows(store) == [("d-0", 3, 3), ("d-1", 1, 4), ("d-2", 3, 9), ("d-3", 3, 13)]
    assert await runner.position("test-event-counts") == 13


@pytest.mark.usefixtures("counts_table")
async def test_following_the_log_goes_on_past_an_event_it_cannot_apply(
    store: EventStore, new_event: EventFactory
) -> None:
    runner = ProjectionRunner(store, [RefusingCounts()], batch_size=3)
    following = asyncio.create_task(runner.follow(interval=0.01))
    try:
        await store.append("d-bad", 0, [new_event("d-bad", v) for v in (1, 2, 3)])
        await _append_many(store, new_event, range(2))
        async with asyncio.timeout(10):
            while await runner.position("test-event-counts") < 9:
                await asyncio.sleep(0.01)
    finally:
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following

    assert await _rows(store) == [("d-0", 3, 6), ("d-1", 3, 9), ("d-bad", 1, 1)]
    [failure] = await runner.failures("test-event-counts")
    assert (failure.decision_id, failure.position, failure.reason) == (
        "d-bad",
        2,
        "the event at position 2 is refused",
    )


@pytest.mark.usefixtures("counts_table")
async def test_rebuilding_a_projection_retries_the_decisions_it_parked(
    store: EventStore, new_event: EventFactory
) -> None:
    await _append_many(store, new_event, range(2))
    body = (await store.stream("d-0"))[1].body
    await _tamper(store, "UPDATE events SET body = :body WHERE position = 2", body=b"[]")
    runner = ProjectionRunner(store, [EventCounts()])
    await runner.catch_up()
    assert [failure.position for failure in await runner.failures("test-event-counts")] == [2]

    await _tamper(store, "UPDATE events SET body = :body WHERE position = 2", body=body)

    assert await runner.rebuild("test-event-counts") == 6
    assert await runner.failures("test-event-counts") == []
    assert await _rows(store) == [("d-0", 3, 3), ("d-1", 3, 6)]
