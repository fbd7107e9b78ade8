"""Who takes part: member states, the chair, and the Council's bodies, in dated roster versions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.areas import OTHER, ROME_AREAS, AreaCode, LevelCode
from domain.cadence import Cadence
from domain.errors import NotFound

CHAIR: Final = "chair"
"""The acting code of the chair (the NATO Secretary General): convenes and records, never blocks."""

PREPARATORY_COMMITTEE: Final = "PC"
"""The code of the Preparatory Committee on the Council's rosters; a plan's default monitor."""

SignedAnswer = Literal[
    "concur",
    "break_silence",
    "withdraw_objection",
    "register_concern",
    "report_progress",
    "raise_issue",
    "request_meeting",
]
"""An answer a member's key signs (domain.declarations: each declared with `signed`)."""
MemberCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3 code")]
BodyCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9-]{1,31}$")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CouncilLevel(StrEnum):
    """The levels at which the NATO-Russia Council and its military bodies meet: the levels of
    a council whose file names none (another council names its own)."""

    AMBASSADORS = "ambassadors"
    FOREIGN_MINISTERS = "foreign_ministers"
    DEFENCE_MINISTERS = "defence_ministers"
    HEADS_OF_STATE_AND_GOVERNMENT = "heads_of_state_and_government"
    CHIEFS_OF_STAFF = "chiefs_of_staff"
    MILITARY_REPRESENTATIVES = "military_representatives"


class BodyKind(StrEnum):
    COUNCIL = "council"
    PREPARATORY_COMMITTEE = "preparatory_committee"
    WORKING_GROUP = "working_group"


class Member(_Frozen):
    """A member state acting in its national capacity; every member is an equal partner."""

    code: MemberCode
    name: str = Field(min_length=1)
    kind: Literal["member_state"] = "member_state"


class Chair(_Frozen):
    """The chair convenes and records; it is not a member and cannot block consensus."""

    code: Literal["chair"] = "chair"
    title: str = "NATO Secretary General"


ALL_MEMBERS: Final = "all"
DECIDING_KINDS: Final = (BodyKind.COUNCIL, BodyKind.WORKING_GROUP)
"""The kinds of body that take decisions; the Preparatory Committee prepares them."""


class Body(_Frozen):
    """The Council at one level, the Preparatory Committee, or a committee or working group:
    its members (every member of the roster in force, or a named subset of it) and when it
    sits."""

    code: BodyCode
    name: str = Field(min_length=1)
    kind: BodyKind
    level: LevelCode | None = None
    members: Literal["all"] | tuple[MemberCode, ...] = ALL_MEMBERS
    cadence: Cadence | None = None
    minimum_silence: timedelta | None = Field(
        default=None,
        ge=timedelta(0),
        description="ISO 8601 duration, e.g. P1D: the shortest silence procedure this body "
        "opens (the council's when left out)",
    )

    @model_validator(mode="after")
    def _council_has_level(self) -> Body:
        if (self.kind is BodyKind.COUNCIL) != (self.level is not None):
            raise ValueError("a council body has a level, and only a council body has one")
        return self


class Roster(_Frozen):
    """One version of the roster, in force from its effective date until the next version."""

    version: int = Field(ge=1)
    effective_from: date
    effective_until: date | None = None
    """The first day it is no longer in force; open-ended (until the next version) if None."""
    members: tuple[Member, ...] = Field(min_length=1)
    chair: Chair = Chair()
    bodies: tuple[Body, ...] = ()
    areas: tuple[AreaCode, ...] = ROME_AREAS
    """The council's areas of cooperation besides `other` (the Rome Declaration's for a roster
    kept before a council named its own)."""
    minimum_silence: timedelta = timedelta(0)
    """The council's shortest silence procedure (none for a roster kept before a council set
    one); a body may set its own."""
    signed_answers: tuple[SignedAnswer, ...] = ()
    """The answers a member must sign with its own key (none for a roster kept before a
    council required any)."""

    @model_validator(mode="after")
    def _codes_unique(self) -> Roster:
        codes = [m.code for m in self.members]
        if len(set(codes)) != len(codes):
            raise ValueError("member codes must be unique")
        body_codes = [b.code for b in self.bodies]
        if len(set(body_codes)) != len(body_codes):
            raise ValueError("body codes must be unique")
        return self

    @property
    def member_codes(self) -> tuple[str, ...]:
        return tuple(sorted(m.code for m in self.members))

    def is_member(self, code: str) -> bool:
        return any(m.code == code for m in self.members)

    def is_body(self, code: str) -> bool:
        return any(b.code == code for b in self.bodies)

    def member(self, code: str) -> Member:
        for m in self.members:
            if m.code == code:
                return m
        raise NotFound(f"no member {code!r} on roster version {self.version}")

    def body(self, code: str) -> Body:
        for b in self.bodies:
            if b.code == code:
                return b
        raise NotFound(f"no body {code!r} on roster version {self.version}")

    def body_members(self, code: str) -> tuple[str, ...]:
        """The members of body `code` on this roster, sorted: all members, or its subset of
        them (a member of the subset no longer on the roster sits no more)."""
        body = self.body(code)
        if body.members == ALL_MEMBERS:
            return self.member_codes
        return tuple(sorted(m for m in body.members if self.is_member(m)))

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_until is None or day < self.effective_until
        )

    def council_at(self, level: str) -> Body:
        for b in self.bodies:
            if b.kind is BodyKind.COUNCIL and b.level == level:
                return b
        sits = ", ".join(self.levels) or "none"
        raise NotFound(f"the council sits at no level {level!r} (its levels: {sits})")

    @property
    def levels(self) -> tuple[str, ...]:
        """The levels at which the council's bodies sit, in the order of its bodies."""
        return levels_of(self.bodies)

    @property
    def preparatory_committee(self) -> Body:
        for b in self.bodies:
            if b.kind is BodyKind.PREPARATORY_COMMITTEE:
                return b
        raise NotFound("the council has no preparatory body")

    @property
    def has_preparatory_committee(self) -> bool:
        return any(b.kind is BodyKind.PREPARATORY_COMMITTEE for b in self.bodies)

    def silence_minimum(self, body: str) -> timedelta:
        """The shortest silence procedure `body` opens: its own minimum, else the council's."""
        own = self.body(body).minimum_silence if self.is_body(body) else None
        return own if own is not None else self.minimum_silence

    def has_area(self, area: str) -> bool:
        return area == OTHER or area in self.areas


def levels_of(bodies: Iterable[Body]) -> tuple[str, ...]:
    """The levels at which `bodies` sit (council bodies at a level), in their order, once each:
    those a request for a meeting can reach."""
    return tuple(dict.fromkeys(b.level for b in bodies if b.level is not None))


class RosterBook(_Frozen):
    """All roster versions in order; answers which one was in force at an instant."""

    rosters: tuple[Roster, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> RosterBook:
        for before, after in zip(self.rosters, self.rosters[1:], strict=False):
            if after.version != before.version + 1:
                raise ValueError("roster versions must run 1, 2, 3, ... without gaps")
            if after.effective_from <= before.effective_from:
                raise ValueError("each roster version must take effect after the one before")
            if before.effective_until is not None and before.effective_until > after.effective_from:
                raise ValueError(
                    f"roster version {before.version} is in force until "
                    f"{before.effective_until.isoformat()}, after version {after.version} "
                    f"takes effect on {after.effective_from.isoformat()}: versions overlap"
                )
        return self

    def snapshot_at(self, instant: datetime) -> Roster:
        """The roster in force at `instant` (a roster takes effect at 00:00 UTC of its date)."""
        return self.on(instant.astimezone(UTC).date())

    def on(self, day: date) -> Roster:
        """The roster in force on `day`."""
        for roster in reversed(self.rosters):
            if roster.effective_from <= day:
                if roster.in_force_on(day):
                    return roster
                break
        raise NotFound(f"no roster in force on {day.isoformat()}")

    def version(self, number: int) -> Roster:
        for r in self.rosters:
            if r.version == number:
                return r
        raise NotFound(f"no roster version {number}")

    @property
    def latest(self) -> Roster:
        return self.rosters[-1]
