"""The chain checker reads a body's header (its position and the values the columns repeat)
without parsing its payload: whatever header it accepts, the whole body parsed agrees with, and a
header that differs from the columns is explained exactly as the whole body shows it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.chain_check import BreakReason, Broken, ChainChecker
from store.hashing import GENESIS_HASH, chain_hash
from store.records import event_id_for
from store.schema import LOG_COLUMNS

HEADER_NAMES = LOG_COLUMNS[: LOG_COLUMNS.index("stream_prev_hash") + 1]
NUMBERS = {"position", "stream_version", "schema_version"}
INT64 = st.integers(-(2**63), 2**63 - 1)


def log_rows(documents: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Rows chained as the store writes them: each document's fields in the columns, its bytes
    as the body (serialised as given, so a test can give values of any JSON type)."""
    rows, previous = [], GENESIS_HASH
    for document in documents:
        body = orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        hash_ = chain_hash(previous, body)
        columns = {name: document[name] for name in HEADER_NAMES}
        columns |= {"prev_hash": previous, "hash": hash_, "body": body}
        rows.append(tuple(columns[name] for name in LOG_COLUMNS))
        previous = hash_
    return rows


def documents(count: int, payload: Any = None) -> list[dict[str, Any]]:
    """`count` events of three decisions, each linked to its decision's previous event."""
    made: list[dict[str, Any]] = []
    previous = GENESIS_HASH
    tails: dict[str, str] = {}
    versions: dict[str, int] = {}
    for position in range(1, count + 1):
        decision_id = f"d-{position % 3}"
        versions[decision_id] = version = versions.get(decision_id, 0) + 1
        document = {
            "position": position,
            "event_id": event_id_for(decision_id, version),
            "decision_id": decision_id,
            "stream_version": version,
            "type": "ConcurrenceRecorded",
            "schema_version": 1,
            "actor": "CAN",
            "recorded_by": "member:CAN",
            "occurred_at": "2004-12-09T09:00:01.000000Z",
            "recorded_at": "2026-11-26T15:47:17.811098Z",
            "stream_prev_hash": tails.get(decision_id, GENESIS_HASH),
            "payload": payload if payload is not None else {"member": "CAN", "round": position},
        }
        previous = chain_hash(previous, orjson.dumps(document, option=orjson.OPT_SORT_KEYS))
        tails[decision_id] = previous
        made.append(document)
    return made


def checked(rows: list[tuple[Any, ...]]) -> int:
    checker = ChainChecker()
    checker.check_page(rows, len(rows))
    return checker.checked


def break_of(rows: list[tuple[Any, ...]]) -> tuple[int, BreakReason]:
    with pytest.raises(Broken) as broken:
        checked(rows)
    return broken.value.log_break.position, broken.value.log_break.reason


json_values = st.recursive(
    st.none() | st.booleans() | INT64 | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@given(payload=json_values)
def test_any_payload_is_skipped_and_an_untouched_log_checks(payload: Any) -> None:
    assert checked(log_rows(documents(7, payload))) == 7


@given(
    name=st.sampled_from(HEADER_NAMES[1:]),
    value=st.none() | st.booleans() | INT64 | st.text(max_size=70),
    at=st.integers(1, 6),
)
def test_a_column_that_differs_from_the_body_is_found(name: str, value: Any, at: int) -> None:
    made = documents(6)
    rows = log_rows(made)
    if value == made[at - 1][name]:
        return
    column = LOG_COLUMNS.index(name)
    row = list(rows[at - 1])
    row[column] = value
    rows[at - 1] = tuple(row)
    assert break_of(rows) == (at, BreakReason.COLUMN_MISMATCH)


@given(
    name=st.sampled_from(HEADER_NAMES[1:]),
    data=st.data(),
)
def test_a_header_value_of_another_type_than_its_fields_is_a_malformed_body(
    name: str, data: st.DataObject
) -> None:
    """Column and body agree (both written from one document), but hold a value no append
    writes: reported at its position, never a crash further on."""
    others = st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
    wrong = data.draw(others | st.text(max_size=8) if name in NUMBERS else others | INT64)
    made = documents(3)
    made[1][name] = wrong
    assert break_of(log_rows(made)) == (2, BreakReason.MALFORMED_BODY)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", BreakReason.MALFORMED_BODY),
        (b"[1, 2]", BreakReason.MALFORMED_BODY),
        (b"{}", BreakReason.MALFORMED_BODY),
        (b'{"position": 2}', BreakReason.MALFORMED_BODY),
        (b'{"position": "2"}', BreakReason.POSITION_MISMATCH),
        (b'{"position": 3}', BreakReason.POSITION_MISMATCH),
    ],
    ids=["not-json", "array", "empty", "header-missing", "position-text", "position-other"],
)
def test_a_body_without_the_rows_header_is_named_for_what_it_lacks(
    body: bytes, reason: BreakReason
) -> None:
    rows = log_rows(documents(3))
    row = list(rows[1])
    row[LOG_COLUMNS.index("body")] = body
    rows[1] = tuple(row)
    assert break_of(rows) == (2, reason)
