"""Old payloads are upcast on read; closed workflow histories are archived once per run."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import delete

from audit.verify import verify_log
from domain.errors import Conflict, InvalidInput
from store.archive import history_digest
from store.eventstore import EventStore
from store.schema import workflow_histories
from store.upcasting import register
from tests.integration.store.conftest import EventFactory
from tests.integration.store.raw_sql import raw_transaction


@register("TestMeetingRequested", 1)
def _level_becomes_a_named_level(payload: dict[str, Any]) -> dict[str, Any]:
    return {"level": {1: "ambassadors", 2: "ministers"}[payload["level"]], "reason": ""}


@register("TestMeetingRequested", 2)
def _reason_becomes_reasons(payload: dict[str, Any]) -> dict[str, Any]:
    return {"level": payload["level"], "reasons": [payload["reason"]] if payload["reason"] else []}


async def test_an_old_payload_is_upcast_on_read_while_its_body_still_verifies(
    store: EventStore, new_event: EventFactory
) -> None:
    old = new_event("d-1", 1, type="TestMeetingRequested", schema_version=1, payload={"level": 2})
    current = new_event(
        "d-1",
        2,
        type="TestMeetingRequested",
        schema_version=3,
        payload={"level": "ambassadors", "reasons": ["urgent"]},
    )

    appended = await store.append("d-1", 0, [old, current])
    streamed = await store.stream("d-1")
    logged = [event async for event in store.read_log()]

    for first, second in (appended, streamed, logged):
        assert (first.schema_version, first.payload) == (3, {"level": "ministers", "reasons": []})
        assert first.stored_schema_version == 1
        assert orjson.loads(first.body)["payload"] == {"level": 2}
        assert (second.schema_version, second.payload) == (3, current.payload)
    assert (await verify_log(store)).ok


async def test_an_upcast_event_retried_as_first_written_is_still_recognised(
    store: EventStore, new_event: EventFactory
) -> None:
    old = new_event("d-1", 1, type="TestMeetingRequested", schema_version=1, payload={"level": 1})
    stored = await store.append("d-1", 0, [old])

    assert await store.append("d-1", 0, [old]) == stored


def test_a_second_upcaster_for_the_same_version_is_refused() -> None:
    with pytest.raises(InvalidInput, match="TestMeetingRequested v1 already has one"):
        register("TestMeetingRequested", 1)(dict)


HISTORY = orjson.dumps({"events": [{"eventId": "1"}, {"eventId": "2"}, {"eventId": "3"}]}).decode()


async def test_archiving_a_history_twice_keeps_one_copy(store: EventStore) -> None:
    first = await store.archive.keep("d-1", "decision-d-1", "run-1", HISTORY)
    again = await store.archive.keep("d-1", "decision-d-1", "run-1", HISTORY)
    await store.archive.keep("d-2", "decision-d-2", "run-9", HISTORY)

    assert again == first
    assert first.event_count == 3
    assert await store.archive.histories("d-1") == [first]


async def test_a_decisions_histories_come_in_the_order_they_were_archived(
    store: EventStore,
) -> None:
    for run in ("run-b", "run-a", "run-c"):
        await store.archive.keep("d-1", "decision-d-1", run, HISTORY)

    assert [history.run_id for history in await store.archive.histories("d-1")] == [
        "run-b",
        "run-a",
        "run-c",
    ]
    assert await store.archive.histories("d-none") == []


async def test_a_run_archived_again_with_another_history_is_a_conflict(
    store: EventStore,
) -> None:
    await store.archive.keep("d-1", "decision-d-1", "run-1", HISTORY)
    other = orjson.dumps({"events": [{"eventId": "1"}, {"eventId": "7"}]}).decode()

    with pytest.raises(Conflict, match="run-1 is already archived with a different history"):
        await store.archive.keep("d-1", "decision-d-1", "run-1", other)
    with pytest.raises(Conflict, match="run-1 is already archived for decision-d-1"):
        await store.archive.keep("d-2", "decision-d-2", "run-1", HISTORY)


async def test_a_run_exported_with_its_keys_in_another_order_is_archived_once(
    store: EventStore,
) -> None:
    one = '{"events": [{"eventId": "1", "attributes": {"a": 1, "b": {"x": "1", "y": "2"}}}]}'
    reordered = '{"events": [{"attributes": {"b": {"y": "2", "x": "1"}, "a": 1}, "eventId": "1"}]}'

    first = await store.archive.keep("d-1", "decision-d-1", "run-1", one)
    again = await store.archive.keep("d-1", "decision-d-1", "run-1", reordered)

    assert again == first
    assert orjson.loads(first.history_json) == orjson.loads(one)


async def test_a_retry_that_fetched_the_run_with_more_events_keeps_the_first_archive(
    store: EventStore,
) -> None:
    shorter = orjson.dumps({"events": [{"eventId": "1"}, {"eventId": "2"}]}).decode()
    first = await store.archive.keep("d-1", "decision-d-1", "run-1", shorter)

    assert await store.archive.keep("d-1", "decision-d-1", "run-1", HISTORY) == first
    assert await store.archive.histories("d-1") == [first]


async def test_a_history_that_is_not_a_temporal_history_is_invalid(store: EventStore) -> None:
    with pytest.raises(InvalidInput, match="history_json"):
        await store.archive.keep("d-1", "decision-d-1", "run-1", "[1, 2]")
    with pytest.raises(InvalidInput, match="at least one event"):
        await store.archive.keep("d-1", "decision-d-1", "run-1", '{"events": []}')
    assert await store.archive.histories("d-1") == []


async def test_a_lost_archive_is_archived_again_as_the_log_bound_it_or_refused(
    store: EventStore,
) -> None:
    """The run was archived while open, and bound; its archive is lost; Temporal is asked again
    and holds more events now: the archive kept is the one bound. A history that is not the one
    bound is refused."""
    shorter = orjson.dumps({"events": [{"eventId": "1"}, {"eventId": "2"}]}).decode()
    first = await store.archive.keep("d-1", "decision-d-1", "run-1", shorter)
    bound = await store.archive.binding("run-1")
    assert bound is not None and bound.payload["digest"] == history_digest(first.history_json)
    async with raw_transaction(store.url) as connection:
        await connection.execute(delete(workflow_histories))

    again = await store.archive.keep("d-1", "decision-d-1", "run-1", HISTORY)
    assert again.history_json == first.history_json and again.event_count == 2
    assert await store.archive.binding("run-1") == bound, "bound once"

    async with raw_transaction(store.url) as connection:
        await connection.execute(delete(workflow_histories))
    other = orjson.dumps({"events": [{"eventId": "1"}, {"eventId": "7"}]}).decode()
    with pytest.raises(Conflict, match="not the one the log bound"):
        await store.archive.keep("d-1", "decision-d-1", "run-1", other)
    assert await store.archive.histories("d-1") == []
