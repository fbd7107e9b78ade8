"""Questions operators ask of the read models: which decisions, in what state, awaiting whom."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import or_, select

from domain.state import DecisionState
from store.eventstore import EventStore
from store.schema import decision_states, decisions, pending_actions


class DecisionRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision_id: str
    title: str
    area: str
    state: str
    proposer: str
    open_round: int | None
    round_deadline: datetime | str | None
    open_issues: int
    last_event_type: str


class PendingRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision_id: str
    title: str
    round: int
    subject: str
    round_deadline: datetime


async def list_decisions(
    store: EventStore,
    *,
    state: str | None = None,
    area: str | None = None,
    member: str | None = None,
) -> list[DecisionRow]:
    """Decisions filtered by state, area, and a member (its proposals and its pending answers)."""
    query = select(decisions).order_by(decisions.c.last_position.desc())
    if state:
        query = query.where(decisions.c.state == state)
    if area:
        query = query.where(decisions.c.area == area)
    if member:
        awaiting = select(pending_actions.c.decision_id).where(pending_actions.c.member == member)
        query = query.where(
            or_(decisions.c.proposer == member, decisions.c.decision_id.in_(awaiting))
        )
    rows = await store.read(query)
    return [DecisionRow.model_validate(dict(row._mapping)) for row in rows]


async def pending_for_member(store: EventStore, member: str) -> list[PendingRow]:
    """The rounds `member` has still to answer, across all decisions, soonest deadline first."""
    query = (
        select(pending_actions.c.decision_id, pending_actions.c.round, decision_states.c.state_json)
        .join(decision_states, decision_states.c.decision_id == pending_actions.c.decision_id)
        .where(pending_actions.c.member == member)
    )
    pending = []
    for row in await store.read(query):
        decision_id, number = row.decision_id, row.round
        state = DecisionState.model_validate_json(row.state_json)
        round_ = state.round(number)
        pending.append(
            PendingRow(
                decision_id=decision_id,
                title=state.title,
                round=number,
                subject=round_.subject,
                round_deadline=round_.deadline,
            )
        )
    return sorted(pending, key=lambda row: (row.round_deadline, row.decision_id))
