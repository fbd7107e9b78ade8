"""The append algorithm, once for every backend: a batch becomes hash-chained log rows under
the head lock, or is recognised as a retry of a batch stored before."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson

from domain.errors import Conflict
from store.hashing import (
    GENESIS_HASH,
    body_parts,
    canonical_json,
    chain_digest,
    format_instant,
    join_body,
)
from store.records import Appended, BodyRow, CommandRange, NewEvent, StoredEvent, stored_event
from store.schema import LogRow
from store.upcasting import Upcasters

T = TypeVar("T")

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


class AppendSession(Protocol):
    """A backend's statements for one append, in a transaction that holds the head lock."""

    async def head(self) -> tuple[int, str]:
        """The log's last position and hash, locked until the transaction ends."""
        ...

    async def tail(self, decision_id: str) -> tuple[int, str] | None:
        """The decision's last stream version and its hash; None when it has no events."""
        ...

    async def stored(self, decision_id: str, after: int, until: int) -> Sequence[BodyRow]:
        """The decision's rows at stream versions `after` + 1 .. `until`, in stream order."""
        ...

    async def insert(self, rows: Sequence[LogRow]) -> None:
        """Write the rows (a unique key already taken raises the driver's integrity error)."""
        ...

    async def move_head(self, position: int, hash: str) -> None:
        """Record the new last position and hash."""
        ...

    async def insert_commands(self, decision_id: str, commands: Sequence[CommandRange]) -> None:
        """Record which stream versions each command's events hold."""
        ...

    async def commands_after(self, decision_id: str, version: int) -> list[CommandRange]:
        """The decision's commands whose events come after stream version `version`."""
        ...


@dataclass(frozen=True, slots=True)
class Written:
    """The batch was appended as `rows`."""

    rows: list[LogRow]
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class NotWritten:
    """The stream is not at the expected version: what it holds at the batch's versions (when
    adopting: at every version after the expected one, with the commands they hold)."""

    current_version: int
    found: Sequence[BodyRow]
    commands: Sequence[CommandRange] = ()


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """One append, prepared: the batch for the stream at `expected_version`, with the ranges of
    its commands; `adopt`: give back what the stream holds past that version instead of a
    Conflict."""

    decision_id: str
    expected_version: int
    batch: Sequence[PreparedEvent]
    commands: Sequence[CommandRange] = ()
    adopt: bool = False


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


async def append_locked(session: AppendSession, request: AppendRequest) -> Written | NotWritten:
    """The append itself, on any backend: lock the head, check the stream's version, then
    chain and write the batch (and its commands' ranges) and move the head, or return what the
    versions already hold: the batch's, or with `adopt` every version after the expected one."""
    decision_id, expected_version, batch = (
        request.decision_id,
        request.expected_version,
        request.batch,
    )
    head = await session.head()
    current_version, stream_hash = await session.tail(decision_id) or (0, GENESIS_HASH)
    if current_version != expected_version:
        if request.adopt and current_version > expected_version:
            found = await session.stored(decision_id, expected_version, current_version)
            ranges = await session.commands_after(decision_id, expected_version)
            return NotWritten(current_version, found, ranges)
        found = await session.stored(decision_id, expected_version, expected_version + len(batch))
        return NotWritten(current_version, found)
    recorded_at = datetime.now(UTC)
    rows = chain_rows(batch, head, stream_hash, recorded_at)
    await session.insert(rows)
    if request.commands:
        await session.insert_commands(decision_id, request.commands)
    await session.move_head(rows[-1].position, rows[-1].hash)
    return Written(rows, recorded_at)


def outcome_events(
    batch: Sequence[NewEvent], outcome: Written | NotWritten, upcasters: Upcasters
) -> list[StoredEvent]:
    """The StoredEvents an append returns: those written, or those of the retried batch."""
    if isinstance(outcome, Written):
        return appended_events(batch, outcome.rows, outcome.recorded_at, upcasters)
    return stored_batch(batch, outcome.current_version, outcome.found, upcasters)


def adopting_outcome(
    batch: Sequence[NewEvent], outcome: Written | NotWritten, upcasters: Upcasters
) -> Appended:
    """What an adopting append returns: the batch as written or as stored by a retry of the
    same content; else, when the stream went past the expected version, what it holds there."""
    if isinstance(outcome, Written):
        return Appended(
            appended_events(batch, outcome.rows, outcome.recorded_at, upcasters), [], False
        )
    if outcome.current_version < batch[0].stream_version:
        return Appended(
            stored_batch(batch, outcome.current_version, outcome.found, upcasters), [], False
        )
    stored = [stored_event(row, upcasters) for row in outcome.found]
    same = len(stored) == len(batch) and not any(
        _differing_fields(new, event) for new, event in zip(batch, stored, strict=True)
    )
    return Appended(stored, list(outcome.commands), adopted=not same)


def run_without_suspending(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (its awaits only call blocking code) to its result,
    without an event loop: how `append_locked` runs whole on SQLite's writer thread."""
    try:
        coroutine.send(None)
    except StopIteration as finished:
        result: T = finished.value
        return result
    coroutine.close()
    raise RuntimeError("a coroutine run without an event loop suspended")


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
    rows: list[LogRow] = []
    for prepared in batch:
        position += 1
        new = prepared.new
        body = join_body(prepared.parts, position, recorded_bytes, stream_hash.encode())
        digest = chain_digest(prev_digest, body)
        hash_ = digest.hex()
        rows.append(
            LogRow(
                position=position,
                event_id=new.event_id,
                decision_id=new.decision_id,
                stream_version=new.stream_version,
                type=new.type,
                schema_version=new.schema_version,
                actor=new.actor,
                recorded_by=new.recorded_by,
                occurred_at=prepared.occurred_at,
                recorded_at=recorded,
                stream_prev_hash=stream_hash,
                prev_hash=prev_hash,
                hash=hash_,
                body=body,
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
                position=row.position,
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
                stream_prev_hash=row.stream_prev_hash,
                prev_hash=row.prev_hash,
                hash=row.hash,
                body=row.body,
            )
        )
    return events


def stored_batch(
    batch: Sequence[NewEvent],
    current_version: int,
    found: Sequence[BodyRow],
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
