"""What the API answers of the council: the council in force, its bodies' sittings as the log
records them, what a body has before it, and whether each body kept its minimum."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict

from api.auth import Authenticated
from api.errors import ERRORS
from api.services import Found
from domain.agenda import AgendaItem
from domain.council import Council
from domain.council_events import SittingConvened, SittingRecorded
from domain.errors import NotFound
from store.councils import (
    BodyCompliance,
    Councils,
    PendingAgenda,
    compliance,
    pending_agenda,
    window,
)
from store.queries import kept_sitting, recorded_sittings

BodyCode = Annotated[str, Path(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")]
MeetingId = Annotated[str, Path(pattern=r"^meeting\.[a-z0-9-]{1,55}$")]
Since = Annotated[AwareDatetime | None, Query(alias="from", description="Default: a year ago.")]
Until = Annotated[AwareDatetime | None, Query(alias="to", description="Excluded; default: now.")]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Sitting(Frozen):
    """A sitting as its meeting's stream records it, with its record once kept."""

    meeting_id: str
    body: str
    sitting_at: datetime
    kind: str
    agenda: list[AgendaItem]
    request: str | None
    requested_by: str | None
    record: SittingRecorded | None = None

    @classmethod
    def of(cls, convened: SittingConvened, record: SittingRecorded | None = None) -> Sitting:
        return cls(
            meeting_id=convened.stream_id,
            body=convened.body,
            sitting_at=convened.sitting_at,
            kind=convened.kind.value,
            agenda=list(convened.agenda),
            request=convened.request,
            requested_by=convened.requested_by,
            record=record,
        )


class Sittings(Frozen):
    sittings: list[Sitting]


class Compliance(Frozen):
    since: datetime
    until: datetime
    bodies: list[BodyCompliance]


def router() -> APIRouter:
    routes = APIRouter(responses=ERRORS)

    @routes.get("/council", response_model=Council, tags=["council"])
    async def council(caller: Authenticated, found: Found) -> Council:
        """The council in force: members, bodies with their cadences, roster versions."""
        return await Councils(found.store).in_force()

    @routes.get("/meetings", response_model=Sittings, tags=["council"])
    async def meetings(
        caller: Authenticated,
        found: Found,
        since: Since = None,
        until: Until = None,
        body: Annotated[str | None, Query(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")] = None,
    ) -> Sittings:
        """The sittings the log records in a window (a body's only, when named)."""
        start, end = window(since, until)
        recorded = await recorded_sittings(found.store, start, end, body)
        return Sittings(sittings=[Sitting.of(s) for s in recorded])

    @routes.get("/meetings/report", response_model=Compliance, tags=["council"])
    async def report(
        caller: Authenticated, found: Found, since: Since = None, until: Until = None
    ) -> Compliance:
        """Per body: sittings set by its rule, required by its minimum, held; short periods."""
        start, end = window(since, until)
        return Compliance(since=start, until=end, bodies=await compliance(found.store, start, end))

    @routes.get("/meetings/{meeting_id}", response_model=Sitting, tags=["council"])
    async def meeting(caller: Authenticated, found: Found, meeting_id: MeetingId) -> Sitting:
        """One sitting: its body, instant, kind, agenda, and its record once kept."""
        kept = await kept_sitting(found.store, meeting_id)
        if kept is None:
            raise NotFound(f"no sitting {meeting_id} in the log")
        return Sitting.of(kept.convened, kept.record)

    @routes.get("/bodies/{body}/agenda", response_model=PendingAgenda, tags=["council"])
    async def agenda(
        caller: Authenticated, found: Found, body: BodyCode, at: AwareDatetime | None = None
    ) -> PendingAgenda:
        """What the body would have before it at a sitting now (or `at`): read, not recorded."""
        return await pending_agenda(found.store, body, at or datetime.now(UTC))

    return routes
