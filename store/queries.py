"""Questions operators ask of the read models: which decisions, in what state, awaiting whom."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, or_, select

from domain.agenda import MEETING_STREAM_PREFIX
from domain.council_events import SittingConvened, SittingRecorded
from domain.errors import InvalidHistory
from domain.state import DecisionState
from domain.values import TERMINAL
from store.council_events import council_event
from store.eventstore import EventStore
from store.schema import (
    BODY_COLUMNS,
    SITTING_CONVENED,
    decision_states,
    decisions,
    events,
    owed_actions,
    pending_actions,
)


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
    last_position: int
    """Where in the log the decision last changed: the order of the list, and its cursor."""


class PendingRow(BaseModel):
    """One thing a member owes: an answer in a round, or an action item to carry out."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["answer", "action_item"]
    decision_id: str
    title: str
    round: int | None = None
    item_id: str | None = None
    subject: str
    deadline: datetime | None
    """The round's deadline, or the item's due date (else the plan's report-back deadline)."""
    joint: bool = False
    """An item of all members jointly: the member reports its part; the chair or the
    monitoring body completes the item."""


async def list_decisions(
    store: EventStore,
    *,
    state: str | None = None,
    area: str | None = None,
    member: str | None = None,
    limit: int | None = None,
    before_position: int | None = None,
) -> list[DecisionRow]:
    """Decisions filtered by state, area, and a member (its proposals and its pending answers),
    most recently changed first; a page of `limit` of them changed before `before_position`."""
    query = decisions_query(
        state=state, area=area, member=member, limit=limit, before_position=before_position
    )
    rows = await store.tables.rows(query)
    return [DecisionRow.model_validate(dict(row._mapping)) for row in rows]


def decisions_query(
    *,
    state: str | None = None,
    area: str | None = None,
    member: str | None = None,
    limit: int | None = None,
    before_position: int | None = None,
) -> Select[Any]:
    """The read models' query `list_decisions` runs (benchmarks/scale.py shows its plan)."""
    query = select(decisions).order_by(decisions.c.last_position.desc())
    if before_position is not None:
        query = query.where(decisions.c.last_position < before_position)
    if limit is not None:
        query = query.limit(limit)
    if state:
        query = query.where(decisions.c.state == state)
    if area:
        query = query.where(decisions.c.area == area)
    if member:
        awaiting = select(pending_actions.c.decision_id).where(pending_actions.c.member == member)
        query = query.where(
            or_(decisions.c.proposer == member, decisions.c.decision_id.in_(awaiting))
        )
    return query


async def pending_for_member(
    store: EventStore, member: str, body: bool = False
) -> list[PendingRow]:
    """Everything `member` owes across all decisions: rounds to answer (not in suspended
    decisions) and outstanding action items assigned to it alone or to all members jointly;
    for a body (`body`), the items assigned to it; soonest deadline first."""
    owed = [
        (
            PendingRow.model_validate(
                {
                    "kind": row.kind,
                    "decision_id": row.decision_id,
                    "title": row.title,
                    "round": row.round,
                    "item_id": row.item_id,
                    "subject": row.subject,
                    "deadline": row.deadline,
                    "joint": row.member is None,
                }
            ),
            row.place,
        )
        for row in await store.tables.rows(pending_query(member, body))
    ]
    latest = datetime.max.replace(tzinfo=UTC)
    owed.sort(key=lambda o: (o[0].deadline or latest, o[0].decision_id, o[0].kind, o[1]))
    return [row for row, _ in owed]


def pending_query(member: str, body: bool = False) -> Select[Any]:
    """The read model's query `pending_for_member` runs: the member's rows and the joint ones;
    a body's own rows alone (a joint item is the members')."""
    if body:
        return select(owed_actions).where(owed_actions.c.member == member)
    return select(owed_actions).where(
        or_(owed_actions.c.member == member, owed_actions.c.member.is_(None))
    )


async def open_decision_states(store: EventStore) -> list[DecisionState]:
    """The state of every decision the read model holds that is not closed."""
    closed = [s.value for s in TERMINAL]
    rows = await store.tables.rows(
        select(decision_states.c.state_json)
        .join(decisions, decisions.c.decision_id == decision_states.c.decision_id)
        .where(decisions.c.state.not_in(closed))
        .order_by(decision_states.c.decision_id)
    )
    return [DecisionState.model_validate_json(row.state_json) for row in rows]


async def recorded_sittings(
    store: EventStore, start: datetime, end: datetime, body: str | None = None
) -> list[SittingConvened]:
    """The sittings the log records in [start, end) (of `body` only, when named), in order."""
    stored = await store.tables.events(sittings_query())
    sittings = [council_event(e) for e in stored]
    return sorted(
        (
            s
            for s in sittings
            if isinstance(s, SittingConvened)
            and start <= s.sitting_at < end
            and (body is None or s.body == body)
        ),
        key=lambda s: (s.sitting_at, s.body),
    )


def sittings_query() -> Select[Any]:
    """The log's query `recorded_sittings` runs: every sitting convened, in log order."""
    return (
        select(*BODY_COLUMNS)
        .where(
            SITTING_CONVENED,
            events.c.decision_id.startswith(MEETING_STREAM_PREFIX, autoescape=True),
        )
        .order_by(events.c.position)
    )


@dataclass(frozen=True)
class KeptSitting:
    """A sitting as its meeting's stream holds it: convened (at `position`), and its record
    once kept."""

    convened: SittingConvened
    position: int
    record: SittingRecorded | None


async def kept_sitting(store: EventStore, meeting_id: str) -> KeptSitting | None:
    """The sitting `meeting_id` names; None when the log has no such stream."""
    stored = await store.stream(meeting_id)
    if not stored:
        return None
    convened = council_event(stored[0])
    record = council_event(stored[1]) if len(stored) > 1 else None
    if not isinstance(convened, SittingConvened) or not isinstance(record, SittingRecorded | None):
        raise InvalidHistory(f"{meeting_id} does not hold a sitting and its record")
    return KeptSitting(convened=convened, position=stored[0].position, record=record)
