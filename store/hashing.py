"""Canonical JSON (RFC 8785) of stored events, and the SHA-256 hash chain over those bytes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Final

import orjson

GENESIS_HASH: Final = "0" * 64
"""The prev_hash of position 1 and the stream_prev_hash of every stream's first event."""

MAX_SAFE_INTEGER: Final = 2**53 - 1
"""RFC 8785 numbers are IEEE doubles: larger integers would not survive other JCS tools."""

_CANONICAL: Final = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER


def canonical_json(document: Any) -> bytes:
    """The RFC 8785 bytes of a float-free JSON document whose keys are ASCII.

    For such documents orjson's sorted, compact output is byte for byte the JCS form (a property
    test checks this against the reference implementation); it is ~50 times faster.
    """
    return orjson.dumps(document, option=_CANONICAL)


def chain_digest(prev_digest: bytes, body: bytes) -> bytes:
    """The chain's one definition: SHA-256 of the previous hash's 32 bytes, then the event's
    canonical body. On digests, so the appender and the verifier carry bytes from row to row."""
    return hashlib.sha256(prev_digest + body).digest()


def chain_hash(prev_hash: str, body: bytes) -> str:
    """`chain_digest` on hex hashes, as the log stores them."""
    return chain_digest(bytes.fromhex(prev_hash), body).hex()


def format_instant(instant: datetime) -> str:
    """An aware instant as fixed-width ISO-8601 UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.

    Fixed width makes the text sort like the instants, so the store compares them as strings.
    """
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must be timezone-aware")
    naive_utc = instant.astimezone(UTC).replace(tzinfo=None)
    return naive_utc.isoformat(timespec="microseconds") + "Z"


def parse_instant(text: str) -> datetime:
    """The aware UTC datetime of a `format_instant` string."""
    return datetime.fromisoformat(text)


def body_parts(
    *,
    event_id: str,
    decision_id: str,
    stream_version: int,
    type: str,
    schema_version: int,
    payload: dict[str, Any],
    actor: str,
    recorded_by: str,
    occurred_at: str,
) -> tuple[bytes, bytes, bytes]:
    """An event's canonical body, precomputed around what only the appender knows.

    `head + position + b',"recorded_at":"' + recorded_at + middle + stream_prev_hash + tail`
    is `canonical_json(event_document(...))` (keys sort in that order; a test checks it), so the
    append critical section only joins bytes.
    """
    head = canonical_json(
        {
            "actor": actor,
            "decision_id": decision_id,
            "event_id": event_id,
            "occurred_at": occurred_at,
            "payload": payload,
        }
    )
    middle = b'","recorded_by":%b,"schema_version":%d,"stream_prev_hash":"' % (
        canonical_json(recorded_by),
        schema_version,
    )
    tail = b'","stream_version":%d,"type":%b}' % (stream_version, canonical_json(type))
    return head[:-1] + b',"position":', middle, tail


def join_body(
    parts: tuple[bytes, bytes, bytes], position: int, recorded_at: bytes, stream_prev_hash: bytes
) -> bytes:
    """The canonical body from `body_parts` and the appender's position, time and stream link."""
    head, middle, tail = parts
    return b"".join(
        (head, b"%d" % position, b',"recorded_at":"', recorded_at, middle, stream_prev_hash, tail)
    )


def event_document(
    *,
    position: int,
    event_id: str,
    decision_id: str,
    stream_version: int,
    type: str,
    schema_version: int,
    payload: dict[str, Any],
    actor: str,
    recorded_by: str,
    occurred_at: str,
    recorded_at: str,
    stream_prev_hash: str,
) -> dict[str, Any]:
    """The document whose canonical bytes are an event's stored body and hash input."""
    return {
        "position": position,
        "event_id": event_id,
        "decision_id": decision_id,
        "stream_version": stream_version,
        "type": type,
        "schema_version": schema_version,
        "payload": payload,
        "actor": actor,
        "recorded_by": recorded_by,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "stream_prev_hash": stream_prev_hash,
    }
