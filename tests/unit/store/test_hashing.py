"""Canonical JSON is RFC 8785 for the store's documents; the chain hash is as specified."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from store.hashing import (
    GENESIS_HASH,
    MAX_SAFE_INTEGER,
    body_parts,
    canonical_json,
    chain_hash,
    event_document,
    format_instant,
    join_body,
    parse_instant,
)

ascii_keys = st.text(alphabet=st.characters(max_codepoint=127), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.text()
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(ascii_keys, children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300)
@given(st.dictionaries(ascii_keys, documents, max_size=8))
def test_canonical_json_is_byte_for_byte_rfc_8785(document: dict[str, Any]) -> None:
    assert canonical_json(document) == rfc8785.dumps(document)


def test_canonical_json_escapes_control_characters_as_rfc_8785_does() -> None:
    document = {"text": '\x00\x1f\u007f\u2028"\\\n\t/é😀'}

    assert canonical_json(document) == rfc8785.dumps(document)


def test_canonical_json_refuses_integers_that_rfc_8785_cannot_represent() -> None:
    with pytest.raises(TypeError):
        canonical_json({"n": MAX_SAFE_INTEGER + 1})


def test_the_chain_hash_covers_the_previous_hash_bytes_then_the_body() -> None:
    body = b'{"a":1}'
    expected = hashlib.sha256(bytes(32) + body).hexdigest()

    assert chain_hash(GENESIS_HASH, body) == expected
    assert chain_hash(expected, body) == hashlib.sha256(bytes.fromhex(expected) + body).hexdigest()


def test_instants_are_fixed_width_utc_with_microseconds() -> None:
    paris = timezone(timedelta(hours=1))

    assert format_instant(datetime(2002, 5, 28, 13, 0, tzinfo=paris)) == (
        "2002-05-28T12:00:00.000000Z"
    )
    assert format_instant(datetime(5, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == (
        "0005-01-02T03:04:05.000006Z"
    )
    instant = datetime(2004, 12, 9, 9, 30, 1, 250, tzinfo=UTC)
    assert parse_instant(format_instant(instant)) == instant


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_instant(datetime(2004, 12, 9))


events = st.fixed_dictionaries(
    {
        "position": st.integers(min_value=1, max_value=MAX_SAFE_INTEGER),
        "event_id": st.uuids().map(str),
        "decision_id": st.from_regex(r"^[a-z0-9][a-z0-9-]{0,62}$", fullmatch=True),
        "stream_version": st.integers(min_value=1, max_value=2**31),
        "type": st.from_regex(r"^[A-Z][A-Za-z0-9]{0,30}$", fullmatch=True),
        "schema_version": st.integers(min_value=1, max_value=99),
        "payload": st.dictionaries(ascii_keys, documents, max_size=6),
        "actor": st.text(min_size=1, max_size=20),
        "recorded_by": st.text(min_size=1, max_size=20),
        "occurred_at": st.datetimes(timezones=st.just(UTC)).map(format_instant),
        "recorded_at": st.datetimes(timezones=st.just(UTC)).map(format_instant),
        "stream_prev_hash": st.binary(min_size=32, max_size=32).map(bytes.hex),
    }
)


@settings(max_examples=300)
@given(events)
def test_a_body_joined_from_precomputed_parts_is_the_canonical_document(
    event: dict[str, Any],
) -> None:
    parts = body_parts(
        **{
            name: value
            for name, value in event.items()
            if name not in ("position", "recorded_at", "stream_prev_hash")
        }
    )

    joined = join_body(
        parts,
        event["position"],
        event["recorded_at"].encode(),
        event["stream_prev_hash"].encode(),
    )

    assert joined == canonical_json(event_document(**event))
    assert joined == rfc8785.dumps(event)
