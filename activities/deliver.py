"""Activities that read a decision from its log and give it a command, its workflow running or
not: what a supersession needs of the two decisions it links."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from temporalio import activity

from domain.commands import RecordSupersession, SupersedeDecision
from domain.decider import replay
from domain.errors import ConcordError, NotFound, Unavailable
from domain.state import DecisionState
from store.decision_events import domain_event
from store.eventstore import EventStore
from store.records import StoredEvent
from workflows.failures import to_failure
from workflows.messages import (
    DELIVER_COMMAND,
    READ_DECISION,
    DeliverInput,
    ReadDecisionInput,
    ReadDecisionResult,
    Receipt,
    command_digest,
)

Deliver = Callable[[DeliverInput, DecisionState], Awaitable[Receipt]]
"""Gives a command to a decision's workflow, starting a new run from `state` (its log) when no
run is open; the composition root wires it to the decision client."""


class DecisionActivities:
    """Reads decisions from the log and delivers commands to their workflows."""

    def __init__(self, store: EventStore, deliver: Deliver) -> None:
        self._store = store
        self._deliver = deliver

    @activity.defn(name=READ_DECISION)
    async def read_decision(self, input: ReadDecisionInput) -> ReadDecisionResult:
        """The decision's state as its log holds it; None when it has no events."""
        stored = await self._store.stream(input.decision_id)
        return ReadDecisionResult(state=_folded(stored))

    @activity.defn(name=DELIVER_COMMAND)
    async def deliver_command(self, input: DeliverInput) -> Receipt:
        """Give the command to its decision; a refusal by the rules is final, anything else is
        retried. A retry finds a link its first attempt stored by the link itself, since the
        run that took it may have closed, and a new run would refuse it as done already."""
        command = input.command
        stored = await self._store.stream(command.decision_id)
        state = _folded(stored)
        if state is None:
            raise to_failure(NotFound(f"no decision {command.decision_id}"))
        if activity.info().attempt > 1:
            done = _link_stored(stored, command)
            if done is not None:
                return _receipt(done, input)
        try:
            return await self._deliver(input, state)
        except Unavailable as error:
            raise to_failure(error, retryable=True) from None
        except ConcordError as error:
            raise to_failure(error) from None


def _folded(stored: Sequence[StoredEvent]) -> DecisionState | None:
    return replay(domain_event(e) for e in stored) if stored else None


def _link_stored(
    stored: Sequence[StoredEvent], command: SupersedeDecision | RecordSupersession
) -> StoredEvent | None:
    """The event in which the decision already records what `command` asks it to record."""
    for event in reversed(stored):
        match command:
            case SupersedeDecision() if event.type == "DecisionSuperseded":
                if event.payload.get("superseded_by") == command.superseded_by:
                    return event
            case RecordSupersession() if event.type == "DecisionSupersedes":
                if event.payload.get("supersedes") == command.supersedes:
                    return event
    return None


def _receipt(event: StoredEvent, input: DeliverInput) -> Receipt:
    return Receipt(
        decision_id=event.decision_id,
        idempotency_key=input.idempotency_key,
        event_ids=(event.event_id,),
        event_types=(event.type,),
        stream_version=event.stream_version,
        hashes=(event.hash,),
        command_digest=command_digest(input.command),
    )
