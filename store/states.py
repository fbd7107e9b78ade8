"""A decision's state now, without folding its whole stream: the read model's copy, topped up
with whatever the log holds after it (the log is the truth; the read model only saves work)."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select

from domain.evolve import evolve
from domain.state import DecisionState
from store.decision_events import domain_event
from store.eventstore import EventStore
from store.schema import decision_states


async def state_now(store: EventStore, decision_id: str) -> DecisionState | None:
    """The decision's state after every event the log holds for it; None when it has none.

    Starts from the state the decisions read model keeps (unless it is missing or unreadable:
    then from nothing) and applies the events stored after its version, so a lagging or stopped
    projector costs time, never correctness.
    """
    rows = await store.tables.rows(
        select(decision_states.c.version, decision_states.c.state_json).where(
            decision_states.c.decision_id == decision_id
        )
    )
    state: DecisionState | None = None
    if rows:
        try:
            state = DecisionState.model_validate_json(rows[0].state_json)
        except ValidationError:
            state = None  # a row this code cannot read: the log still can
    version = state.version if state is not None else 0
    for stored in await store.stream(decision_id, from_version=version + 1):
        state = evolve(state, domain_event(stored))
    return state
