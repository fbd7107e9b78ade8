"""The council's events (and its sittings', and its key registry's) as the log's records, and
back."""

from __future__ import annotations

from collections.abc import Iterable

from domain.council_events import (
    CouncilEvent,
    CouncilEventBase,
    MemberKeyRegistered,
    MemberKeyRevoked,
    council_payload,
    parse_council_event,
)
from domain.errors import InvalidHistory
from domain.keys import KeyRegistry
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


def registry_of(changes: Iterable[StoredEvent]) -> KeyRegistry:
    """The registry the key registry's stream folds to, as far as it holds together (a broken
    stream is audit.keys' finding: answers are checked against the changes before the break)."""
    registry = KeyRegistry()
    for stored in changes:
        try:
            event = council_event(stored)
            if isinstance(event, MemberKeyRegistered | MemberKeyRevoked):
                registry.evolve(event)
        except InvalidHistory:
            break
    return registry
