"""Turning a batch into hash-chained log rows, and recognising a retried batch (pure functions)."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from domain.errors import Conflict, InvalidHistory
from store.hashing import body_parts, canonical_json, format_instant, join_body, parse_instant
from store.records import NewEvent, StoredEvent
from store.upcasting import Upcasters

LogRow = tuple[Any, ...]
"""The values of one event in `store.drivers.LOG_COLUMNS` order."""

_COMPARED = (
    "decision_id",
    "stream_version",
    "type",
    "schema_version",
    "actor",
    "recorded_by",
    "occurred_at",
)


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """A NewEvent with its body precomputed around position, recorded_at and stream link."""

    new: NewEvent
    occurred_at: str
    parts: tuple[bytes, bytes, bytes]


def prepare(batch: Sequence[NewEvent]) -> list[PreparedEvent]:
    """Serialise what can be serialised before the head lock is taken."""
    prepared = []
    for new in batch:
        occurred_at = format_instant(new.occurred_at)
        parts = body_parts(
            event_id=new.event_id,
            decision_id=new.decision_id,
            stream_version=new.stream_version,
            type=new.type,
            schema_version=new.schema_version,
            payload=new.payload,
            actor=new.actor,
            recorded_by=new.recorded_by,
            occurred_at=occurred_at,
        )
        prepared.append(PreparedEvent(new, occurred_at, parts))
    return prepared


def chain_rows(
    batch: Sequence[PreparedEvent],
    head: tuple[int, str],
    stream_hash: str,
    recorded_at: datetime,
) -> list[LogRow]:
    """The rows of `batch` appended after `head`, chained globally and within its stream."""
    position, prev_hash = head
    prev_digest = bytes.fromhex(prev_hash)
    recorded = format_instant(recorded_at)
    recorded_bytes = recorded.encode()
    sha256 = hashlib.sha256
    rows: list[LogRow] = []
    for prepared in batch:
        position += 1
        new = prepared.new
        body = join_body(prepared.parts, position, recorded_bytes, stream_hash.encode())
        digest = sha256(prev_digest + body).digest()
        hash_ = digest.hex()
        rows.append(
            (
                position,
                new.event_id,
                new.decision_id,
                new.stream_version,
                new.type,
                new.schema_version,
                new.actor,
                new.recorded_by,
                prepared.occurred_at,
                recorded,
                stream_hash,
                prev_hash,
                hash_,
                body,
            )
        )
        prev_digest, prev_hash, stream_hash = digest, hash_, hash_
    return rows


def appended_events(
    batch: Sequence[NewEvent], rows: Sequence[LogRow], recorded_at: datetime, upcasters: Upcasters
) -> list[StoredEvent]:
    """The StoredEvents of rows just written from `batch`, without parsing their bodies back."""
    events = []
    recorded_at = recorded_at.astimezone(UTC)
    for new, row in zip(batch, rows, strict=True):
        schema_version, payload = upcasters.upcast(new.type, new.schema_version, new.payload)
        events.append(
            StoredEvent(
                position=row[0],
                event_id=new.event_id,
                decision_id=new.decision_id,
                stream_version=new.stream_version,
                type=new.type,
                schema_version=schema_version,
                stored_schema_version=new.schema_version,
                payload=payload,
                actor=new.actor,
                recorded_by=new.recorded_by,
                occurred_at=new.occurred_at.astimezone(UTC),
                recorded_at=recorded_at,
                stream_prev_hash=row[10],
                prev_hash=row[11],
                hash=row[12],
                body=row[13],
            )
        )
    return events


def stored_event(row: Sequence[Any], upcasters: Upcasters) -> StoredEvent:
    """The StoredEvent of a (position, prev_hash, hash, body) row, its payload upcast;
    InvalidHistory, naming the position, when the stored body is not an event's document."""
    try:
        body = bytes(row[3])
        document = orjson.loads(body)
        stored = StoredEvent(
            position=row[0],
            event_id=document["event_id"],
            decision_id=document["decision_id"],
            stream_version=document["stream_version"],
            type=document["type"],
            schema_version=document["schema_version"],
            stored_schema_version=document["schema_version"],
            payload=document["payload"],
            actor=document["actor"],
            recorded_by=document["recorded_by"],
            occurred_at=parse_instant(document["occurred_at"]),
            recorded_at=parse_instant(document["recorded_at"]),
            stream_prev_hash=document["stream_prev_hash"],
            prev_hash=row[1],
            hash=row[2],
            body=body,
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise InvalidHistory(
            f"the event at position {row[0]} cannot be read ({type(error).__name__}: {error}); "
            "run `concord audit verify`"
        ) from None
    schema_version, payload = upcasters.upcast(stored.type, stored.schema_version, stored.payload)
    if schema_version == stored.schema_version:
        return stored
    return dataclasses.replace(stored, schema_version=schema_version, payload=payload)


def stored_batch(
    batch: Sequence[NewEvent],
    current_version: int,
    found: Sequence[Sequence[Any]],
    upcasters: Upcasters,
) -> list[StoredEvent]:
    """The stored records of a batch appended before (a retry), from the rows found at its
    versions; Conflict when the stream is elsewhere or holds other content at those versions."""
    first = batch[0]
    stale = (
        f"decision {first.decision_id}: expected stream version {first.stream_version - 1}, "
        f"but it is at {current_version}"
    )
    stored = {
        record.stream_version: record for record in (stored_event(row, upcasters) for row in found)
    }
    if len(stored) < len(batch):
        raise Conflict(
            stale
            if not stored
            else f"{stale}; part of this batch is stored and part is not, so it is not a retry"
        )
    for new in batch:
        differing = _differing_fields(new, stored[new.stream_version])
        if differing:
            raise Conflict(
                f"{stale}, and its v{new.stream_version} (event {new.event_id}) was stored "
                f"with a different {', '.join(differing)}"
            )
    return [stored[new.stream_version] for new in batch]


def _differing_fields(new: NewEvent, stored: StoredEvent) -> list[str]:
    document = orjson.loads(stored.body)
    incoming = {
        "decision_id": new.decision_id,
        "stream_version": new.stream_version,
        "type": new.type,
        "schema_version": new.schema_version,
        "actor": new.actor,
        "recorded_by": new.recorded_by,
        "occurred_at": format_instant(new.occurred_at),
    }
    differing = [name for name in _COMPARED if incoming[name] != document[name]]
    if canonical_json(new.payload) != canonical_json(document["payload"]):
        differing.append("payload")
    return differing
