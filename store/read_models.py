"""The decisions read models (overview rows, pending answers, what members owe), derived from
the domain's fold.

Every row comes from `domain.evolve.evolve` applied to the decision's stored state: the store
re-implements no rule of the procedure, it only files what the domain's state says.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Final

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.council import is_decision_stream
from domain.errors import InvalidHistory
from domain.events import Event
from domain.evolve import evolve
from domain.state import DecisionState
from store.decision_events import domain_event
from store.hashing import format_instant
from store.records import StoredEvent
from store.schema import decision_states, decisions, owed_actions, pending_actions

DECISIONS_PROJECTION: Final = "decisions"


class DecisionsProjection:
    """Keeps `decision_states`, `decisions`, `pending_actions` and `owed_actions` in step with
    the log."""

    name = DECISIONS_PROJECTION
    tables = (decision_states, decisions, pending_actions, owed_actions)

    async def apply(self, connection: AsyncConnection, batch: Sequence[StoredEvent]) -> None:
        """Fold the batch's events into their decisions' states; rewrite the touched rows."""
        batch = [event for event in batch if is_decision_stream(event.decision_id)]
        if not batch:
            return
        stored = await _load_states(connection, {event.decision_id for event in batch})
        folded: dict[str, DecisionState] = {}
        last: dict[str, StoredEvent] = {}
        for event in batch:
            previous = folded.get(event.decision_id) or stored.get(event.decision_id)
            folded[event.decision_id] = evolve(previous, _domain_event(event))
            last[event.decision_id] = event
        touched = list(folded)
        for table in (owed_actions, pending_actions, decisions, decision_states):
            await connection.execute(delete(table).where(table.c.decision_id.in_(touched)))
        await connection.execute(
            insert(decision_states),
            [
                {
                    "decision_id": decision_id,
                    "version": state.version,
                    "state_json": state.model_dump_json(),
                }
                for decision_id, state in folded.items()
            ],
        )
        await connection.execute(
            insert(decisions),
            [_overview(state, last[decision_id]) for decision_id, state in folded.items()],
        )
        pending = [
            {"decision_id": decision_id, "round": open_round.number, "member": member}
            for decision_id, state in folded.items()
            for open_round in state.open_rounds
            for member in open_round.pending()
        ]
        if pending:
            await connection.execute(insert(pending_actions), pending)
        owed = [row for state in folded.values() for row in _owed(state)]
        if owed:
            await connection.execute(insert(owed_actions), owed)


def _overview(state: DecisionState, last: StoredEvent) -> dict[str, object]:
    open_rounds = state.open_rounds
    first_open = min(open_rounds, key=lambda r: r.number) if open_rounds else None
    return {
        "decision_id": state.decision_id,
        "title": state.title,
        "area": str(state.area),
        "state": str(state.status),
        "proposer": state.proposer,
        "open_round": first_open.number if first_open else None,
        "round_deadline": format_instant(first_open.deadline) if first_open else None,
        "open_issues": len(state.open_issues),
        "last_position": last.position,
        "last_event_type": last.type,
    }


def _owed(state: DecisionState) -> list[dict[str, object]]:
    """The decision's rows of `owed_actions`: what the domain says each member owes in it."""
    decision: dict[str, object] = {"decision_id": state.decision_id, "title": state.title}
    pending = sorted({member for r in state.open_rounds for member in r.pending()})
    answers = [
        decision
        | {
            "member": member,
            "kind": "answer",
            "place": r.number,
            "round": r.number,
            "item_id": None,
            "subject": r.subject,
            "deadline": _as_stated(r.deadline),
        }
        for member in pending
        for r in state.pending_for(member)
    ]
    report_back = state.plan.report_back_deadline if state.plan else None
    items = [
        decision
        | {
            "member": item.assignee.code,
            "kind": "action_item",
            "place": place,
            "round": None,
            "item_id": item.item_id,
            "subject": item.description,
            "deadline": _as_stated(item.due or report_back),
        }
        for place, item in enumerate(state.items_owed())
    ]
    return answers + items


_INSTANT: Final = TypeAdapter(datetime)


def _as_stated(instant: datetime | None) -> str | None:
    # As the state's JSON holds it, so that a reader gets back the very value, offset and all.
    return None if instant is None else str(_INSTANT.dump_python(instant, mode="json"))


async def _load_states(
    connection: AsyncConnection, decision_ids: Collection[str]
) -> dict[str, DecisionState]:
    rows = await connection.execute(
        select(decision_states.c.decision_id, decision_states.c.state_json).where(
            decision_states.c.decision_id.in_(decision_ids)
        )
    )
    return {
        decision_id: DecisionState.model_validate_json(state_json)
        for decision_id, state_json in rows
    }


def _domain_event(event: StoredEvent) -> Event:
    try:
        return domain_event(event)
    except ValidationError as error:
        raise InvalidHistory(
            f"event at position {event.position} ({event.type} of {event.decision_id}) is not "
            f"a domain event: {error.errors()[0]['msg']}"
        ) from None
