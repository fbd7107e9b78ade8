"""The records the event store takes in and gives back: NewEvent, StoredEvent (read from its
BodyRow by `stored_event`), ArchivedHistory. No SQL here: readers without SQLAlchemy use them."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, NamedTuple

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from domain.errors import InvalidHistory, InvalidInput
from domain.values import Checked
from store.hashing import MAX_SAFE_INTEGER, parse_instant
from store.upcasting import Upcasters

DECISION_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9.-]{0,62}$"
"""A stream of the log: a decision's id, or (holding a dot) a council's or a meeting's."""
EVENT_TYPE_PATTERN: Final = r"^[A-Z][A-Za-z0-9]{0,99}$"

EVENT_ID_NAMESPACE: Final = uuid.UUID("6f1c2a0e-5d4b-4c8e-9a57-3b1f0d2e7c41")
"""Event ids are UUIDv5 of (decision id, stream version) in this namespace."""

_NAMESPACE_BYTES: Final = EVENT_ID_NAMESPACE.bytes
_VARIANT: Final = {nibble: "89ab"[int(nibble, 16) & 3] for nibble in "0123456789abcdef"}

DecisionId = Annotated[str, Field(pattern=DECISION_ID_PATTERN)]
Principal = Annotated[str, Field(min_length=1, max_length=200)]


def event_id_for(decision_id: str, stream_version: int) -> str:
    """The id of a decision's event at a stream version: `uuid5(EVENT_ID_NAMESPACE,
    f"{decision_id}/{stream_version}")` in canonical form.

    Derived, never chosen: a retried append or a replayed workflow recomputes the same ids, and
    since (decision id, stream version) is unique in the log, so are the ids; the store needs no
    index of its own for them (see docs/benchmarks.md). Built from the SHA-1 hex digest without
    UUID objects, because verification derives one per stored event; a property test checks it
    against `uuid.uuid5`.
    """
    name = b"%s/%d" % (decision_id.encode(), stream_version)
    digest = hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).hexdigest()
    # Nibble 12 becomes the version (5); the top bits of nibble 16 the RFC 4122 variant (10).
    return (
        f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-"
        f"{_VARIANT[digest[16]]}{digest[17:20]}-{digest[20:32]}"
    )


def check_json_value(value: Any, path: str) -> None:
    """Raise InvalidInput unless `value` is float-free JSON with ASCII keys and safe integers."""
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInput(path, "strings must be valid Unicode text") from None
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidInput(path, "integers must lie within +/-(2**53 - 1) (RFC 8785)")
        return
    if isinstance(value, float):
        raise InvalidInput(path, "floats are not allowed in event payloads; use integers or text")
    if isinstance(value, list):
        for index, item in enumerate(value):
            check_json_value(item, f"{path}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise InvalidInput(path, f"object keys must be ASCII text, not {key!r}")
            check_json_value(item, f"{path}.{key}")
        return
    raise InvalidInput(path, f"{type(value).__name__} is not a JSON value")


class NewEvent(Checked):
    """An event to append: its identity, content and who caused it, before the store numbers it.

    `event_id` must be `event_id_for(decision_id, stream_version)`.
    """

    event_id: str
    decision_id: DecisionId
    stream_version: int = Field(ge=1)
    type: str = Field(pattern=EVENT_TYPE_PATTERN)
    schema_version: int = Field(default=1, ge=1)
    payload: dict[str, Any]
    actor: Principal
    recorded_by: Principal
    occurred_at: AwareDatetime

    @field_validator("payload")
    @classmethod
    def _payload_is_canonical_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_json_value(value, "payload")
        return value

    @model_validator(mode="after")
    def _event_id_is_derived(self) -> NewEvent:
        expected = event_id_for(self.decision_id, self.stream_version)
        if self.event_id != expected:
            raise InvalidInput(
                "event_id",
                f"{self.event_id!r} is not {expected}, the id derived from "
                f"{self.decision_id} v{self.stream_version} (store.records.event_id_for)",
            )
        return self


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvent:
    """An event as the log holds it: numbered, timestamped, chained, with its exact hashed bytes.

    `payload` and `schema_version` are upcast to the newest schema on read; `body` stays the
    stored bytes (holding `stored_schema_version`'s payload), so hashes still verify. A plain
    frozen dataclass: the store builds millions of them, and pydantic validates dataclasses too.
    """

    position: int
    event_id: str
    decision_id: str
    stream_version: int
    type: str
    schema_version: int
    stored_schema_version: int
    payload: dict[str, Any]
    actor: str
    recorded_by: str
    occurred_at: datetime
    recorded_at: datetime
    stream_prev_hash: str
    prev_hash: str
    hash: str
    body: bytes


class BodyRow(NamedTuple):
    """The part of a log row a StoredEvent is read from: position, chain hashes, hashed body."""

    position: int
    prev_hash: str
    hash: str
    body: bytes


def stored_event(row: BodyRow, upcasters: Upcasters) -> StoredEvent:
    """The StoredEvent of a row, its payload upcast; InvalidHistory, naming the position, when
    the stored body is not an event's document."""
    try:
        body = bytes(row.body)
        document = orjson.loads(body)
        stored = StoredEvent(
            position=row.position,
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
            prev_hash=row.prev_hash,
            hash=row.hash,
            body=body,
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise InvalidHistory(
            f"the event at position {row.position} cannot be read ({type(error).__name__}: "
            f"{error}); run `concord audit verify`"
        ) from None
    schema_version, payload = upcasters.upcast(stored.type, stored.schema_version, stored.payload)
    if schema_version == stored.schema_version:
        return stored
    return dataclasses.replace(stored, schema_version=schema_version, payload=payload)


@dataclass(frozen=True, slots=True)
class CommandRange:
    """The stream versions an accepted command's events hold, stored with them."""

    idempotency_key: str
    first_version: int
    last_version: int
    command_digest: str


@dataclass(frozen=True, slots=True)
class Appended:
    """What an adopting append gives back: the batch as stored; or, when an earlier attempt
    whose outcome its caller never saw stored other events at the batch's versions (`adopted`),
    every event the stream holds after the expected version, with the commands they hold."""

    events: list[StoredEvent]
    commands: list[CommandRange]
    adopted: bool


class ArchivedHistory(BaseModel):
    """A closed Temporal workflow run's history, kept for replay audits after retention ends."""

    model_config = ConfigDict(frozen=True)

    decision_id: str
    workflow_id: str
    run_id: str
    history_json: str
    archived_at: datetime
    event_count: int
