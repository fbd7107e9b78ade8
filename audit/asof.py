"""Point-in-time reconstruction: a decision's state as its events made it at any instant."""

from __future__ import annotations

from datetime import datetime

from domain.errors import InvalidHistory, NotFound
from domain.evolve import evolve
from domain.state import DecisionState
from store.decision_events import domain_event
from store.eventstore import EventStore
from store.records import StoredEvent


async def state_as_of(
    store: EventStore, decision_id: str, instant: datetime | None, *, through: int | None = None
) -> tuple[DecisionState | None, list[StoredEvent]]:
    """The events of `decision_id` up to `instant` (None: any time) and, with `through`, up to
    that stream version, and the state they fold to (None: none yet)."""
    events = await store.events_until(decision_id, instant, through=through)
    if not events and await store.stream_version(decision_id) == 0:
        raise NotFound(f"no decision {decision_id} in the event store")
    state: DecisionState | None = None
    for stored in events:
        state = evolved(state, stored)
    return state, events


def evolved(state: DecisionState | None, stored: StoredEvent) -> DecisionState:
    """The state after one stored event; InvalidHistory naming where the log breaks the rules."""
    try:
        return evolve(state, domain_event(stored))
    except InvalidHistory as broken:
        raise InvalidHistory(
            f"the log at position {stored.position} (decision {stored.decision_id} v"
            f"{stored.stream_version}): {broken.message}"
        ) from None
