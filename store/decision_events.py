"""Between the domain's events and the log's records, both ways: one mapper per kind of stream
(a decision's here, a council's and its sittings' in store.council_events), so that a process
that reads decisions does not import the council's models."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pydantic import ValidationError

from domain.errors import InvalidHistory
from domain.events import Event, EventBase, event_payload, parse_event
from store.records import NewEvent, StoredEvent, event_id_for


class Enveloped(Protocol):
    """What every domain event carries beside its own fields (its stream's id aside, which
    each kind names in its own way; and its `type`, which each event class declares as the
    literal naming it)."""

    @property
    def stream_version(self) -> int: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def recorded_by(self) -> str: ...


B = TypeVar("B", bound=Enveloped, contravariant=True)
"""The events a mapper stores: a kind's base class."""
E = TypeVar("E", covariant=True)
"""The events a mapper reads back: the kind's union."""


class EventMapper(Generic[B, E]):
    """One kind of domain event as the record the log stores, and back: the stream's id under
    `stream_key` in the event's envelope, its own fields as the payload."""

    def __init__(
        self,
        stream_key: str,
        stream_of: Callable[[B], str],
        payload: Callable[[B], dict[str, Any]],
        parse: Callable[[dict[str, Any], dict[str, Any]], E],
    ) -> None:
        self._stream_key = stream_key
        self._stream_of = stream_of
        self._payload = payload
        self._parse = parse

    def record(self, event: B) -> NewEvent:
        """The record the log stores for `event`."""
        stream_id = self._stream_of(event)
        return NewEvent(
            event_id=event_id_for(stream_id, event.stream_version),
            decision_id=stream_id,
            stream_version=event.stream_version,
            type=getattr(event, "type"),  # noqa: B009 (each event class declares it, no base)
            payload=self._payload(event),
            actor=event.actor,
            recorded_by=event.recorded_by,
            occurred_at=event.occurred_at,
        )

    def event(self, stored: StoredEvent) -> E:
        """The domain's event a stored record holds (its payload upcast to the newest schema
        when it was read); InvalidHistory naming its position when it is not a valid one."""
        envelope = {
            "type": stored.type,
            self._stream_key: stored.decision_id,
            "stream_version": stored.stream_version,
            "occurred_at": stored.occurred_at,
            "actor": stored.actor,
            "recorded_by": stored.recorded_by,
        }
        try:
            return self._parse(envelope, stored.payload)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "event"
            raise InvalidHistory(
                f"the event at position {stored.position} ({stored.decision_id} "
                f"v{stored.stream_version}) is not a valid {stored.type}: {where}: {first['msg']}"
            ) from None


DECISION_EVENTS: EventMapper[EventBase, Event] = EventMapper(
    "decision_id", lambda event: event.decision_id, event_payload, parse_event
)


def new_event(event: EventBase) -> NewEvent:
    """The record the log stores for a decision's event."""
    return DECISION_EVENTS.record(event)


def domain_event(stored: StoredEvent) -> Event:
    """The decision's event a stored record holds."""
    return DECISION_EVENTS.event(stored)
