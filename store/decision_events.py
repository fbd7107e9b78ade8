"""Translation between the domain's events (a decision's, a council's) and the log's records,
both ways."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from domain.council_events import (
    CouncilEvent,
    CouncilEventBase,
    council_payload,
    parse_council_event,
)
from domain.errors import InvalidHistory
from domain.events import Event, EventBase, event_payload, parse_event
from store.records import NewEvent, StoredEvent, event_id_for

T = TypeVar("T")


def new_event(event: EventBase) -> NewEvent:
    """The record the log stores for a decision's event."""
    return _record(event, event.decision_id, event_payload(event))


def new_council_event(event: CouncilEventBase) -> NewEvent:
    """The record the log stores for a council's event."""
    return _record(event, event.stream_id, council_payload(event))


def domain_event(stored: StoredEvent) -> Event:
    """The decision's event a stored record holds (payload upcast to the newest schema)."""
    return _parsed(stored, "decision_id", parse_event)


def council_event(stored: StoredEvent) -> CouncilEvent:
    """The council's event a stored record holds."""
    return _parsed(stored, "stream_id", parse_council_event)


def _record(event: EventBase | CouncilEventBase, stream_id: str, payload: Any) -> NewEvent:
    return NewEvent(
        event_id=event_id_for(stream_id, event.stream_version),
        decision_id=stream_id,
        stream_version=event.stream_version,
        type=type(event).model_fields["type"].default,
        payload=payload,
        actor=event.actor,
        recorded_by=event.recorded_by,
        occurred_at=event.occurred_at,
    )


def _parsed(
    stored: StoredEvent, stream_key: str, parse: Callable[[dict[str, Any], dict[str, Any]], T]
) -> T:
    envelope = {
        "type": stored.type,
        stream_key: stored.decision_id,
        "stream_version": stored.stream_version,
        "occurred_at": stored.occurred_at,
        "actor": stored.actor,
        "recorded_by": stored.recorded_by,
    }
    try:
        return parse(envelope, stored.payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "event"
        raise InvalidHistory(
            f"the event at position {stored.position} ({stored.decision_id} "
            f"v{stored.stream_version}) is not a valid {stored.type}: {where}: {first['msg']}"
        ) from None
