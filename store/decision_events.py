"""Translation between the domain's events and the log's records, both ways."""

from __future__ import annotations

from pydantic import ValidationError

from domain.errors import InvalidHistory
from domain.events import Event, EventBase, event_payload, parse_event
from store.records import NewEvent, StoredEvent, event_id_for


def new_event(event: EventBase) -> NewEvent:
    """The record the log stores for a domain event."""
    return NewEvent(
        event_id=event_id_for(event.decision_id, event.stream_version),
        decision_id=event.decision_id,
        stream_version=event.stream_version,
        type=type(event).model_fields["type"].default,
        payload=event_payload(event),
        actor=event.actor,
        recorded_by=event.recorded_by,
        occurred_at=event.occurred_at,
    )


def domain_event(stored: StoredEvent) -> Event:
    """The domain event a stored record holds (payload upcast to the newest schema)."""
    envelope = {
        "type": stored.type,
        "decision_id": stored.decision_id,
        "stream_version": stored.stream_version,
        "occurred_at": stored.occurred_at,
        "actor": stored.actor,
        "recorded_by": stored.recorded_by,
    }
    try:
        return parse_event(envelope, stored.payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "event"
        raise InvalidHistory(
            f"the event at position {stored.position} ({stored.decision_id} "
            f"v{stored.stream_version}) is not a valid {stored.type}: {where}: {first['msg']}"
        ) from None
