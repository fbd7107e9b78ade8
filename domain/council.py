"""A council as data: its chair, members, bodies and dated roster versions, and every problem
a council file can have, each with its place in the file."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from itertools import pairwise
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.cadence import day_start
from domain.errors import InvalidInput
from domain.roster import (
    ALL_MEMBERS,
    DECIDING_KINDS,
    Body,
    BodyCode,
    BodyKind,
    Chair,
    Member,
    MemberCode,
    Roster,
    RosterBook,
)

Location = tuple[str | int, ...]
"""Where in a council file: keys and list indexes from the top, as in `bodies[2].members[0]`."""

COUNCIL_STREAM: Final = "council.main"
"""The stream of the log that records the installation's council and every change to it: a
name no decision id can take (it holds a dot)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RosterVersion(_Frozen):
    """Who sits from `effective_from` (00:00 UTC) until `effective_until` or the next version."""

    version: int = Field(ge=1)
    effective_from: date
    effective_until: date | None = None
    members: tuple[MemberCode, ...] = Field(min_length=1)


class Council(_Frozen):
    """A council: equal members, a chair who convenes but is not one, bodies, roster versions."""

    code: BodyCode = Field(description="the council's code, e.g. NRC")
    name: str = Field(min_length=1)
    chair: Chair = Chair()
    members: tuple[Member, ...] = Field(
        min_length=1, description="everyone who has ever sat, with their names"
    )
    bodies: tuple[Body, ...] = Field(min_length=1)
    rosters: tuple[RosterVersion, ...] = Field(min_length=1)

    @property
    def anchor(self) -> datetime:
        """When the council's first roster took effect: where every cadence counts from."""
        return day_start(min(r.effective_from for r in self.rosters))

    def member_name(self, code: str) -> str:
        return next(m.name for m in self.members if m.code == code)

    def roster_book(self) -> RosterBook:
        """The council's roster versions as the procedure reads them."""
        return RosterBook(
            rosters=tuple(
                Roster(
                    version=r.version,
                    effective_from=r.effective_from,
                    effective_until=r.effective_until,
                    members=tuple(Member(code=c, name=self.member_name(c)) for c in r.members),
                    chair=self.chair,
                    bodies=self.bodies,
                )
                for r in sorted(self.rosters, key=lambda r: r.version)
            )
        )

    def body(self, code: str) -> Body | None:
        return next((b for b in self.bodies if b.code == code), None)


def is_decision_stream(stream_id: str) -> bool:
    """Whether a stream of the log is a decision's (councils' and meetings' hold a dot)."""
    return "." not in stream_id


class CouncilFileInvalid(InvalidInput):
    """A council file with problems: every one of them, each with its place in the file."""

    def __init__(self, problems: list[tuple[Location, str]], where: str = "council") -> None:
        self.problems = problems
        lines = [f"{where_text(loc)}: {message}" for loc, message in problems]
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(where, f"{count}: " + "; ".join(lines))


def where_text(loc: Location) -> str:
    """`bodies[2].members[0]` for ("bodies", 2, "members", 0)."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top)"


def checked_council(document: Mapping[str, Any] | Any) -> Council:
    """The council a parsed file describes; CouncilFileInvalid lists every problem found."""
    try:
        council = Council.model_validate(document)
    except ValidationError as error:
        raise CouncilFileInvalid(
            [(_location(e["loc"]), e["msg"]) for e in error.errors(include_url=False)]
        ) from None
    problems = list(council_problems(council))
    if problems:
        raise CouncilFileInvalid(problems)
    return council


def _location(loc: tuple[Any, ...]) -> Location:
    # pydantic names the branch of a union it tried ("tuple[...]", "literal['all']"): not a key.
    return tuple(p for p in loc if isinstance(p, int) or not (("[" in p) or ("'" in p)))


def council_problems(council: Council) -> Iterator[tuple[Location, str]]:
    """Every problem of reference and consistency a well-formed council still can have."""
    yield from _duplicates(("members",), [m.code for m in council.members], "member", ("code",))
    yield from _duplicates(("bodies",), [b.code for b in council.bodies], "body", ("code",))
    yield from _duplicates(
        ("rosters",), [r.version for r in council.rosters], "roster version", ("version",)
    )
    known = {m.code for m in council.members}
    for i, body in enumerate(council.bodies):
        if body.code in known:
            yield ("bodies", i, "code"), f"{body.code} is a member's code; a body needs its own"
        if body.members != ALL_MEMBERS:
            yield from _unknown(("bodies", i, "members"), body.members, known)
            yield from _duplicates(("bodies", i, "members"), list(body.members), "member")
        if body.cadence is not None and (why := body.cadence.shortfall(council.anchor)):
            yield ("bodies", i, "cadence"), why
    committees = sum(b.kind is BodyKind.PREPARATORY_COMMITTEE for b in council.bodies)
    if committees != 1:
        yield (
            ("bodies",),
            f"a council has one body of kind preparatory_committee; this one has {committees}",
        )
    if not any(b.kind in DECIDING_KINDS for b in council.bodies):
        yield ("bodies",), "a council needs a body that decides: a council or a working group"
    for i, roster in enumerate(council.rosters):
        yield from _unknown(("rosters", i, "members"), roster.members, known)
        yield from _duplicates(("rosters", i, "members"), list(roster.members), "member")
        if roster.effective_until is not None and roster.effective_until <= roster.effective_from:
            yield ("rosters", i, "effective_until"), "must be after effective_from"
    yield from _roster_order(council.rosters)


def _roster_order(rosters: tuple[RosterVersion, ...]) -> Iterator[tuple[Location, str]]:
    order = sorted(range(len(rosters)), key=lambda i: rosters[i].version)
    for position, i in enumerate(order):
        if rosters[i].version != position + 1:
            yield ("rosters", i, "version"), "roster versions run 1, 2, 3, ... without gaps"
            return
    for before, after in pairwise(order):
        b, a = rosters[before], rosters[after]
        if a.effective_from <= b.effective_from:
            yield (
                ("rosters", after, "effective_from"),
                f"version {a.version} takes effect on {a.effective_from.isoformat()}, not "
                f"after version {b.version} ({b.effective_from.isoformat()})",
            )
        elif b.effective_until is not None and b.effective_until > a.effective_from:
            yield (
                ("rosters", before, "effective_until"),
                f"version {b.version} is in force until {b.effective_until.isoformat()}, after "
                f"version {a.version} takes effect on {a.effective_from.isoformat()}: "
                "roster versions overlap",
            )


def _duplicates(
    where: Location, values: list[Any], what: str, field: Location = ()
) -> Iterator[tuple[Location, str]]:
    seen: set[Any] = set()
    for i, value in enumerate(values):
        if value in seen:
            yield (*where, i, *field), f"duplicate {what} {value}"
        seen.add(value)


def _unknown(
    where: Location, codes: tuple[str, ...], known: set[str]
) -> Iterator[tuple[Location, str]]:
    for j, code in enumerate(codes):
        if code not in known:
            yield (*where, j), f"unknown member {code}: not among the council's members"
