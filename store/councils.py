"""The council in force: the one the log records, or the NRC that ships with Concord; and the
import of a council file as events of the council's own stream."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict

from domain.agenda import AgendaItem, agenda_for, periods_held
from domain.council import COUNCIL_STREAM, Council, stranded
from domain.council_events import CouncilImport, folded_council
from domain.errors import Conflict, InvalidInput, NotFound, Refusal, Rule
from domain.nrc import NRC
from domain.roster import CHAIR, Body, RosterBook, levels_of
from store.council_events import council_event, new_council_event
from store.eventstore import EventStore
from store.queries import open_decision_states, recorded_sittings
from store.records import StoredEvent


@dataclass(frozen=True)
class Recorded:
    """The council the log records, and its stream's version."""

    council: Council
    version: int


@dataclass(frozen=True)
class Imported:
    """What an import stored: nothing when the file changed nothing."""

    council: Council
    stored: list[StoredEvent]


def file_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class Councils:
    """The installation's council, read from its event store."""

    def __init__(self, store: EventStore, default: Council = NRC) -> None:
        self._store = store
        self._default = default
        self._cached: Recorded | None = None

    async def recorded(self) -> Recorded | None:
        """The council the log records (None before the first import)."""
        version = await self._store.stream_version(COUNCIL_STREAM)
        if version == 0:
            return None
        if self._cached is not None and self._cached.version == version:
            return self._cached
        stored = await self._store.stream(COUNCIL_STREAM)
        council = folded_council([council_event(e) for e in stored])
        if council is None:
            return None
        self._cached = Recorded(council=council, version=len(stored))
        return self._cached

    async def in_force(self) -> Council:
        """The council decisions are taken in: the recorded one, else the shipped NRC."""
        recorded = await self.recorded()
        return recorded.council if recorded else self._default

    async def roster_book(self) -> RosterBook:
        return (await self.in_force()).roster_book()

    async def import_council(
        self, council: Council, source: str, digest: str, recorded_by: str
    ) -> Imported:
        """Record every change `council` makes to the recorded council, by `recorded_by`, as
        one batch of its stream; nothing when it changes nothing. A council that lacks a body,
        a level or a member that a decision in flight relies on is refused, naming each such
        decision and what it lacks: sittings, meetings and the read side take the council in
        force, and would not find them."""
        lacking = stranded(council, await open_decision_states(self._store))
        if lacking:
            raise Refusal(
                Rule.COUNCIL_CHANGE,
                f"the council would lack what {len(lacking)} decision(s) in flight rely on "
                f"({'; '.join(lacking[:20])}{'; ...' if len(lacking) > 20 else ''}): keep them "
                "in the file, or close those decisions first",
                council=council.code,
                count=len(lacking),
            )
        recorded = await self.recorded()
        version = recorded.version if recorded else 0
        changes = CouncilImport(
            recorded.council if recorded else None,
            version,
            datetime.now(UTC),
            CHAIR,
            recorded_by,
        ).changes(council, source, digest)
        if not changes:
            return Imported(council=council, stored=[])
        try:
            stored = await self._store.append(
                COUNCIL_STREAM, version, [new_council_event(e) for e in changes]
            )
        except Conflict:
            raise Refusal(
                Rule.COUNCIL_CHANGE,
                "the council changed while this file was imported: try again",
                council=council.code,
            ) from None
        self._cached = None
        return Imported(council=council, stored=stored)


class PendingAgenda(BaseModel):
    """What a body would have before it at a sitting at `at`: read, not recorded."""

    model_config = ConfigDict(frozen=True)

    body: str
    at: datetime
    next_sitting: datetime | None
    agenda: list[AgendaItem]


async def pending_agenda(store: EventStore, code: str, at: datetime) -> PendingAgenda:
    """The agenda `code` would have at `at`, from the read model's open decisions; NotFound
    when the council in force has no such body."""
    council = await Councils(store).in_force()
    body = council.body(code)
    if body is None:
        known = ", ".join(b.code for b in council.bodies)
        raise NotFound(f"council {council.code} has no body {code} (bodies: {known})")
    following = _next_sitting(council, body, at)
    states = await open_decision_states(store)
    return PendingAgenda(
        body=body.code,
        at=at,
        next_sitting=following,
        agenda=agenda_for(body, states, at, following, levels_of(council.bodies)),
    )


class ShortPeriod(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: datetime
    held: int
    required: int


class BodyCompliance(BaseModel):
    """A body's sittings over a window: set by its rule, required by its minimum, held; and
    each whole period of the minimum that fell short."""

    model_config = ConfigDict(frozen=True)

    body: str
    minimum: str | None
    set_by_rule: int
    required: int
    held: int
    below_minimum: bool
    short_periods: list[ShortPeriod]


async def compliance(store: EventStore, since: datetime, until: datetime) -> list[BodyCompliance]:
    """Per body of the council in force, the sittings the log records in [since, until)
    against what its cadence sets and requires."""
    check_window(since, until)
    council = await Councils(store).in_force()
    sittings = await recorded_sittings(store, since, until)
    found = []
    for body in council.bodies:
        held = [s.sitting_at for s in sittings if s.body == body.code]
        cadence = body.cadence
        periods = periods_held(cadence, held, since, until) if cadence else []
        short = [
            ShortPeriod(start=p.start, held=p.held, required=p.required) for p in periods if p.short
        ]
        found.append(
            BodyCompliance(
                body=body.code,
                minimum=cadence.at_least.label() if cadence and cadence.at_least else None,
                set_by_rule=len(cadence.sittings_between(council.anchor, since, until))
                if cadence
                else 0,
                required=sum(p.required for p in periods),
                held=len(held),
                below_minimum=bool(short),
                short_periods=short,
            )
        )
    return found


MAX_WINDOW: Final = timedelta(days=3653)
"""The longest window a report or a list of sittings covers: ten years."""


def window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The window a list or report covers: until `until` (now by default), from `since` (a
    year before by default), checked."""
    end = until or datetime.now(UTC)
    try:
        start = since or end - timedelta(days=365)
    except OverflowError:
        raise InvalidInput("to", "is before the first year a calendar can name") from None
    check_window(start, end)
    return start, end


def check_window(since: datetime, until: datetime) -> None:
    """InvalidInput unless `since` is before `until`, at most MAX_WINDOW apart."""
    if since >= until:
        raise InvalidInput("from", f"must be before `to` ({until.isoformat()})")
    if until - since > MAX_WINDOW:
        raise InvalidInput("from", "a window covers at most ten years")


def _next_sitting(council: Council, body: Body, at: datetime) -> datetime | None:
    if body.cadence is None:
        return None
    try:
        return body.cadence.next_sitting(council.anchor, at)
    except (OverflowError, ValueError):  # past the last year a calendar can name
        return None
