"""What the API answers: decisions (a page at a time), one decision, its events, what a member
owes, the roster, and the audits (verification, a decision's history as of an instant)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict

from api.auth import Authenticated
from api.commands import DecisionPath
from api.errors import ERRORS
from api.limits import DEFAULT_PAGE, MAX_PAGE
from api.principals import may_audit, may_see_pending
from api.services import Found
from audit.answers import AnswerRecord, checked_answers
from audit.asof import state_as_of
from audit.snapshots import state_at
from audit.verify import VerificationReport
from domain.errors import InvalidInput, NotFound
from domain.roster import Roster
from domain.state import DecisionState
from domain.values import Status
from store.councils import Councils
from store.queries import DecisionRow, PendingRow, list_decisions, pending_for_member
from store.records import StoredEvent
from store.side_records import StoredRefusal
from store.states import LogReads, state_now

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Page size (at most {MAX_PAGE}).")]
MemberCode = Annotated[str, Query(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class AnswerList(Frozen):
    answers: list[AnswerRecord]


class DecisionPage(Frozen):
    decisions: list[DecisionRow]
    next_cursor: str | None
    """Give it as `cursor` for the next page; null on the last page."""


class EventView(Frozen):
    """An event as the log holds it, with its place in the hash chain."""

    position: int
    event_id: str
    decision_id: str
    stream_version: int
    type: str
    payload: dict[str, Any]
    actor: str
    recorded_by: str
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, stored: StoredEvent) -> EventView:
        return cls(
            position=stored.position,
            event_id=stored.event_id,
            decision_id=stored.decision_id,
            stream_version=stored.stream_version,
            type=stored.type,
            payload=stored.payload,
            actor=stored.actor,
            recorded_by=stored.recorded_by,
            occurred_at=stored.occurred_at,
            recorded_at=stored.recorded_at,
            prev_hash=stored.prev_hash,
            hash=stored.hash,
        )


class EventPage(Frozen):
    events: list[EventView]
    next_after: int | None
    """The stream version to give as `after` for the next page; null on the last page."""


class Pending(Frozen):
    member: str
    pending: list[PendingRow]


class RefusalPage(Frozen):
    refusals: list[StoredRefusal]
    next_after: int | None
    """The position to give as `after` for the next page; null on the last page."""


class StateAt(Frozen):
    decision_id: str
    as_of: datetime
    state: DecisionState | None
    from_snapshot: int | None
    """The stream version of the verified snapshot it started from (null: every event)."""


class AsOf(Frozen):
    decision_id: str
    as_of: datetime
    state: DecisionState | None
    events: list[EventView]


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def _position(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith("p") and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise InvalidInput("cursor", "is not a cursor this API gave")


def router() -> APIRouter:
    routes = APIRouter(responses=ERRORS)

    @routes.get("/decisions", response_model=DecisionPage, tags=["decisions"])
    async def decisions(
        caller: Authenticated,
        found: Found,
        state: Status | None = None,
        area: Annotated[str | None, Query(max_length=100)] = None,
        member: MemberCode | None = None,
        limit: Limit = DEFAULT_PAGE,
        cursor: Annotated[str | None, Query(max_length=100)] = None,
    ) -> DecisionPage:
        """Decisions, most recently changed first, by state, area, or a member (its proposals
        and the rounds awaiting it)."""
        before = _position(cursor) if cursor else None
        rows = await list_decisions(
            found.store,
            state=state.value if state else None,
            area=area,
            member=member,
            limit=limit + 1,
            before_position=before,
        )
        page = rows[:limit]
        more = len(rows) > limit
        return DecisionPage(
            decisions=page, next_cursor=_cursor(page[-1].last_position) if more else None
        )

    @routes.get("/decisions/{decision_id}", response_model=DecisionState, tags=["decisions"])
    async def decision(decision_id: DecisionPath, caller: Authenticated, found: Found) -> Any:
        """The decision's whole state as its stored events make it: texts, rounds and every
        answer, plan, issues, meetings."""
        state = await state_now(LogReads(found.store), decision_id)
        if state is None:
            raise NotFound(f"no decision {decision_id}")
        return state

    @routes.get("/decisions/{decision_id}/events", response_model=EventPage, tags=["decisions"])
    async def events(
        decision_id: DecisionPath,
        caller: Authenticated,
        found: Found,
        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
        limit: Limit = DEFAULT_PAGE,
    ) -> EventPage:
        """The decision's events in stream order, after stream version `after`."""
        stored = await found.store.stream(decision_id, from_version=after + 1)
        if not stored and after == 0:
            raise NotFound(f"no decision {decision_id}")
        page = stored[:limit]
        more = len(stored) > limit
        return EventPage(
            events=[EventView.of(e) for e in page],
            next_after=page[-1].stream_version if more else None,
        )

    @routes.get("/decisions/{decision_id}/answers", response_model=AnswerList, tags=["decisions"])
    async def answers(decision_id: DecisionPath, caller: Authenticated, found: Found) -> AnswerList:
        """Every member's answer on the decision, oldest first, with what its signature shows:
        `signed` by the member's key in force, `unsigned` (it rests on `recorded_by`: an
        answer the secretariat recorded in a member's name shows it), `bad_signature`, or
        `missing_signature` where the council required it signed. Each delegation sees what was
        recorded in its name."""
        if await found.store.stream_version(decision_id) == 0:
            raise NotFound(f"no decision {decision_id}")
        listed = checked_answers(found.store, found.origin, decision_id)
        return AnswerList(answers=[a async for a in listed])

    @routes.get("/members/{member}/pending", response_model=Pending, tags=["members"])
    async def pending(
        member: Annotated[str, Path(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")],
        caller: Authenticated,
        found: Found,
    ) -> Pending:
        """What a member owes, soonest first: answers in open rounds, action items."""
        may_see_pending(caller, member)
        rosters = await Councils(found.store).roster_book()
        if not any(roster.is_member(member) for roster in rosters.rosters):
            raise NotFound(f"no member {member} on any roster of the council")
        return Pending(member=member, pending=await pending_for_member(found.store, member))

    @routes.get("/roster", response_model=Roster, tags=["council"])
    async def roster(
        caller: Authenticated,
        found: Found,
        version: Annotated[int | None, Query(ge=1, le=1_000)] = None,
    ) -> Roster:
        """The council's roster: members, chair, bodies (the latest version by default)."""
        rosters = await Councils(found.store).roster_book()
        return rosters.latest if version is None else rosters.version(version)

    @routes.get("/audit/verify", response_model=VerificationReport, tags=["audit"])
    async def verify(caller: Authenticated, found: Found) -> VerificationReport:
        """Verify the whole hash-chained log; the report names its first break, if any."""
        may_audit(caller)
        return await found.verification.report()

    @routes.get("/audit/decisions/{decision_id}/state", response_model=StateAt, tags=["audit"])
    async def state(
        decision_id: DecisionPath,
        caller: Authenticated,
        found: Found,
        as_of: AwareDatetime,
        version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    ) -> StateAt:
        """The decision's state at `as_of` (and no later than stream `version`) alone, no
        events: from the latest signed snapshot that still verifies, when the installation has a
        log key, in milliseconds."""
        may_audit(caller)
        at, snapshot = await state_at(
            found.store, decision_id, as_of, found.signer, through=version
        )
        return StateAt(decision_id=decision_id, as_of=as_of, state=at, from_snapshot=snapshot)

    @routes.get("/audit/refusals", response_model=RefusalPage, tags=["audit"])
    async def refusals(
        caller: Authenticated,
        found: Found,
        decision_id: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")] = None,
        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
        limit: Limit = DEFAULT_PAGE,
    ) -> RefusalPage:
        """Commands refused (by a rule, or for the caller's role), oldest first: who, what,
        which rule, when — kept in a hash-chained log that `audit/verify` checks."""
        may_audit(caller)
        rows = await found.store.refusals.read(
            decision_id=decision_id, after=after, limit=limit + 1
        )
        page = rows[:limit]
        return RefusalPage(
            refusals=page, next_after=page[-1].position if len(rows) > limit else None
        )

    @routes.get("/audit/decisions/{decision_id}/history", response_model=AsOf, tags=["audit"])
    async def history(
        decision_id: DecisionPath,
        caller: Authenticated,
        found: Found,
        as_of: AwareDatetime,
        version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    ) -> AsOf:
        """The decision as it stood at `as_of` (an instant with its timezone; and no later than
        stream `version`), and its events up to then, by the instant each took effect."""
        may_audit(caller)
        state, stored = await state_as_of(found.store, decision_id, as_of, through=version)
        return AsOf(
            decision_id=decision_id,
            as_of=as_of,
            state=state,
            events=[EventView.of(e) for e in stored],
        )

    return routes
