"""The council's events (and its sittings') as the log's records, and back."""

from __future__ import annotations

from domain.council_events import (
    CouncilEvent,
    CouncilEventBase,
    council_payload,
    parse_council_event,
)
from store.decision_events import EventMapper
from store.records import NewEvent, StoredEvent

COUNCIL_EVENTS: EventMapper[CouncilEventBase, CouncilEvent] = EventMapper(
    "stream_id", lambda event: event.stream_id, council_payload, parse_council_event
)


def new_council_event(event: CouncilEventBase) -> NewEvent:
    """The record the log stores for a council's event."""
    return COUNCIL_EVENTS.record(event)


def council_event(stored: StoredEvent) -> CouncilEvent:
    """The council's event a stored record holds."""
    return COUNCIL_EVENTS.event(stored)
