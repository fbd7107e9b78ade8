"""Point-in-time reconstruction: a decision's state as its events made it at any instant."""

from __future__ import annotations

from datetime import datetime

from domain.errors import NotFound
from domain.evolve import replay
from domain.state import DecisionState
from store.decision_events import domain_event
from store.eventstore import EventStore
from store.records import StoredEvent


async def state_as_of(
    store: EventStore, decision_id: str, instant: datetime
) -> tuple[DecisionState | None, list[StoredEvent]]:
    """The events of `decision_id` up to `instant` and the state they fold to (None: none yet)."""
    events = await store.events_until(decision_id, instant)
    if not events and await store.stream_version(decision_id) == 0:
        raise NotFound(f"no decision {decision_id} in the event store")
    return replay(domain_event(e) for e in events), events
