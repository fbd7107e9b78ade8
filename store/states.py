"""A decision's state now, without folding its whole stream: the read model's copy, topped up
with whatever the log holds after it (the log is the truth; the read model only saves work)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from pydantic import ValidationError

from domain.evolve import evolve
from domain.state import DecisionState
from store.decision_events import domain_event

if TYPE_CHECKING:
    from store.eventstore import EventStore
    from store.records import StoredEvent


class DecisionReads(Protocol):
    """What a decision's state is read from: its events, and the read model's copy of its state.
    LogReads reads them through the store, store.file_reader.DecisionFile from a SQLite file."""

    async def stream(self, decision_id: str, from_version: int = 1) -> list[StoredEvent]: ...

    async def stored_state(self, decision_id: str) -> str | None:
        """The read model's copy of the decision's state, as JSON; None when it has none."""
        ...


class LogReads:
    """DecisionReads through the store, on any backend."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def stream(self, decision_id: str, from_version: int = 1) -> list[StoredEvent]:
        return await self._store.stream(decision_id, from_version)

    async def stored_state(self, decision_id: str) -> str | None:
        from sqlalchemy import select

        from store.schema import decision_states

        rows = await self._store.tables.rows(
            select(decision_states.c.state_json).where(decision_states.c.decision_id == decision_id)
        )
        return str(rows[0].state_json) if rows else None


async def state_now(reads: DecisionReads, decision_id: str) -> DecisionState | None:
    """The decision's state after every event the log holds for it; None when it has none.

    Starts from the state the decisions read model keeps (unless it is missing or unreadable:
    then from nothing) and applies the events stored after its version, so a lagging or stopped
    projector costs time, never correctness.
    """
    kept = await reads.stored_state(decision_id)
    state: DecisionState | None = None
    if kept is not None:
        try:
            state = DecisionState.model_validate_json(kept)
        except ValidationError:
            state = None  # a row this code cannot read: the log still can
    version = state.version if state is not None else 0
    for stored in await reads.stream(decision_id, from_version=version + 1):
        state = evolve(state, domain_event(stored))
    return state
