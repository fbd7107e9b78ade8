"""Verification finds the first position at which rows tampered with by raw SQL break the log."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import text

from audit.verify import BreakReason, VerificationReport, verify_log
from store.eventstore import EventStore
from store.hashing import canonical_json, chain_hash
from store.records import event_id_for
from store.schema import LOG_COLUMNS
from tests.integration.store.conftest import EventFactory
from tests.integration.store.raw_sql import raw_transaction


async def _fill(store: EventStore, new_event: EventFactory, count: int = 10) -> None:
    """`count` events alternating between two decisions, positions 1..count."""
    for position in range(1, count + 1):
        decision_id = "d-odd" if position % 2 else "d-even"
        version = (position + 1) // 2
        await store.append(decision_id, version - 1, [new_event(decision_id, version)])


async def _sql(store: EventStore, *statements: str, **params: object) -> None:
    async with raw_transaction(store.url) as connection:
        for statement in statements:
            await connection.execute(text(statement), params)


_INSERT = (
    f"INSERT INTO events ({', '.join(LOG_COLUMNS)}) "
    f"VALUES ({', '.join(':' + name for name in LOG_COLUMNS)})"
)


def _row_values(position: int, document: dict[str, Any], prev_hash: str) -> dict[str, object]:
    """The values of a row holding `document`, chained by a forger after `prev_hash`."""
    body = canonical_json(document)
    return {name: document.get(name) for name in LOG_COLUMNS} | {
        "position": position,
        "prev_hash": prev_hash,
        "hash": chain_hash(prev_hash, body),
        "body": body,
    }


async def _row(store: EventStore, position: int) -> dict[str, object]:
    async with raw_transaction(store.url) as connection:
        row = await connection.execute(
            text("SELECT * FROM events WHERE position = :p"), {"p": position}
        )
        return dict(row.one()._mapping)


@pytest.fixture(
    params=[
        pytest.param(1, id="one-pass"),
        pytest.param(3, id="three-processes", marks=pytest.mark.slow),
    ]
)
def workers(request: pytest.FixtureRequest) -> int:
    """Verification in one pass, or by three worker processes over ranges of the log."""
    count: int = request.param
    return count


def _broken_at(report: VerificationReport) -> tuple[int, BreakReason]:
    assert report.first_break is not None, "verification found nothing wrong"
    return report.first_break.position, report.first_break.reason


async def test_an_untouched_log_verifies_with_progress_reported(
    store: EventStore, new_event: EventFactory, workers: int
) -> None:
    await _fill(store, new_event, 25)
    seen: list[int] = []

    report = await verify_log(store, progress=seen.append, workers=workers)

    assert report.ok
    assert report.events_checked == 25
    assert (report.head_position, report.head_hash) == await store.head()
    assert seen[-1] == 25


async def test_an_empty_log_verifies(store: EventStore) -> None:
    report = await verify_log(store)

    assert report.ok
    assert report.events_checked == 0


async def test_a_changed_payload_is_reported_at_its_position(
    store: EventStore, new_event: EventFactory, workers: int
) -> None:
    await _fill(store, new_event)
    body = bytes(_any_bytes((await _row(store, 6))["body"]))
    forged = body.replace(b'"revision":3', b'"revision":4')
    assert forged != body

    await _sql(store, "UPDATE events SET body = :body WHERE position = 6", body=forged)

    report = await verify_log(store, workers=workers)
    assert _broken_at(report) == (6, BreakReason.HASH_MISMATCH)
    assert report.events_checked == 5


async def test_a_changed_payload_with_its_hash_recomputed_is_reported_where_the_chain_breaks(
    store: EventStore, new_event: EventFactory
) -> None:
    await _fill(store, new_event)
    row = await _row(store, 6)
    forged = bytes(_any_bytes(row["body"])).replace(b'"revision":3', b'"revision":4')
    rehashed = chain_hash(str(row["prev_hash"]), forged)

    await _sql(
        store,
        "UPDATE events SET body = :body, hash = :hash WHERE position = 6",
        body=forged,
        hash=rehashed,
    )

    assert _broken_at(await verify_log(store)) == (7, BreakReason.PREV_HASH_MISMATCH)


async def test_a_deleted_row_is_reported_at_its_position(
    store: EventStore, new_event: EventFactory, workers: int
) -> None:
    await _fill(store, new_event)

    await _sql(store, "DELETE FROM events WHERE position = 4")

    report = await verify_log(store, workers=workers)
    assert _broken_at(report) == (4, BreakReason.MISSING_POSITION)
    assert report.first_break is not None
    assert "position 4 is missing" in report.first_break.message


async def test_a_deleted_last_row_is_reported_against_the_head(
    store: EventStore, new_event: EventFactory
) -> None:
    await _fill(store, new_event)

    await _sql(store, "DELETE FROM events WHERE position = 10")

    assert _broken_at(await verify_log(store)) == (10, BreakReason.MISSING_POSITION)


async def test_swapped_rows_are_reported_at_the_first_of_them(
    store: EventStore, new_event: EventFactory, workers: int
) -> None:
    await _fill(store, new_event)

    await _sql(
        store,
        "UPDATE events SET position = -1 WHERE position = 3",
        "UPDATE events SET position = 3 WHERE position = 7",
        "UPDATE events SET position = 7 WHERE position = -1",
    )

    report = await verify_log(store, workers=workers)
    assert _broken_at(report) == (3, BreakReason.POSITION_MISMATCH)
    assert report.first_break is not None
    assert "holds the event hashed for position 7" in report.first_break.message


async def test_a_row_inserted_into_the_chain_is_reported_at_its_position(
    store: EventStore, new_event: EventFactory, workers: int
) -> None:
    await _fill(store, new_event)
    # The forger renumbers rows 5.. to make room and chains the forgery correctly to row 4.
    previous = await _row(store, 4)
    document = orjson.loads(_any_bytes((await _row(store, 5))["body"]))
    document |= {"event_id": event_id_for("d-forged", 1), "decision_id": "d-forged"}
    document["stream_version"] = 1
    document["stream_prev_hash"] = "0" * 64
    await _sql(
        store,
        "UPDATE events SET position = -(position + 1) WHERE position >= 5",
        "UPDATE events SET position = -position WHERE position < 0",
        _INSERT,
        "UPDATE log_head SET position = position + 1",
        **_row_values(5, document, str(previous["hash"])),
    )

    assert _broken_at(await verify_log(store, workers=workers)) == (5, BreakReason.INSERTED_ROW)


async def test_a_row_added_past_the_head_is_reported_at_its_position(
    store: EventStore, new_event: EventFactory, workers: int
) -> None:
    await _fill(store, new_event)
    last = await _row(store, 10)
    document = orjson.loads(_any_bytes(last["body"]))
    document |= {"position": 11, "event_id": event_id_for(document["decision_id"], 6)}
    document["stream_version"] = 6
    document["stream_prev_hash"] = last["hash"]

    await _sql(store, _INSERT, **_row_values(11, document, str(last["hash"])))

    assert _broken_at(await verify_log(store, workers=workers)) == (11, BreakReason.BEYOND_HEAD)


async def test_a_column_that_disagrees_with_the_hashed_body_is_reported(
    store: EventStore, new_event: EventFactory
) -> None:
    await _fill(store, new_event)

    await _sql(store, "UPDATE events SET actor = 'USA' WHERE position = 8")

    report = await verify_log(store)
    assert _broken_at(report) == (8, BreakReason.COLUMN_MISMATCH)
    assert report.first_break is not None
    assert "column actor is 'USA'" in report.first_break.message


async def _rechain_from(store: EventStore, forged: int, change: dict[str, object]) -> None:
    """What a forger who can write SQL does: change the event at `forged` (body and columns)
    and re-hash every row from there to the head, and the head, so that the chain holds."""
    async with raw_transaction(store.url) as connection:
        rows = (await connection.execute(text("SELECT * FROM events ORDER BY position"))).all()
    prev_hash = rows[forged - 1].prev_hash
    for row in rows[forged - 1 :]:
        document = orjson.loads(_any_bytes(row.body))
        if row.position == forged:
            document |= change
        body = canonical_json(document)
        hash_ = chain_hash(prev_hash, body)
        await _sql(
            store,
            "UPDATE events SET body = :body, prev_hash = :prev, hash = :hash, "
            "stream_prev_hash = :link, event_id = :event_id WHERE position = :position",
            body=body,
            prev=prev_hash,
            hash=hash_,
            link=document["stream_prev_hash"],
            event_id=document["event_id"],
            position=row.position,
        )
        prev_hash = hash_
    await _sql(store, "UPDATE log_head SET hash = :hash", hash=prev_hash)


@pytest.mark.parametrize("forged", [4, 6])
async def test_a_broken_stream_link_is_reported(
    store: EventStore, new_event: EventFactory, workers: int, forged: int
) -> None:
    await _fill(store, new_event)
    # Only the per-decision link, which the forger got wrong, still shows it.
    await _rechain_from(store, forged, {"stream_prev_hash": "f" * 64})

    assert _broken_at(await verify_log(store, workers=workers)) == (
        forged,
        BreakReason.STREAM_LINK_MISMATCH,
    )


async def test_an_event_id_that_is_not_derived_from_decision_and_version_is_reported(
    store: EventStore, new_event: EventFactory, workers: int
) -> None:
    await _fill(store, new_event)
    # Event ids have no unique index of their own: they are unique because each is derived from
    # its (decision, version), which is unique. A forged duplicate id breaks the derivation.
    duplicate = (await _row(store, 2))["event_id"]
    await _rechain_from(store, 7, {"event_id": duplicate})

    report = await verify_log(store, workers=workers)

    assert _broken_at(report) == (7, BreakReason.EVENT_ID_MISMATCH)
    assert report.first_break is not None
    assert f"event id {duplicate} is not {event_id_for('d-odd', 4)}" in report.first_break.message


def _any_bytes(value: object) -> bytes:
    assert isinstance(value, bytes | bytearray | memoryview)
    return bytes(value)
