"""A council as data: its chair, members, bodies and dated roster versions, and every problem
a council file can have, each with its place in the file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.areas import OTHER, ROME_AREAS, AreaCode, LevelCode
from domain.cadence import day_start
from domain.errors import InvalidInput
from domain.roster import (
    ALL_MEMBERS,
    CHAIR,
    DECIDING_KINDS,
    Body,
    BodyCode,
    BodyKind,
    Chair,
    CouncilLevel,
    Member,
    MemberCode,
    Roster,
    RosterBook,
    SignedAnswer,
    levels_of,
)
from domain.state import DecisionState
from domain.values import AssigneeKind

Location = tuple[str | int, ...]
"""Where in a council file: keys and list indexes from the top, as in `bodies[2].members[0]`."""

COUNCIL_STREAM: Final = "council.main"
"""The stream of the log that records the installation's council and every change to it: a
name no decision id can take (it holds a dot)."""
KEYS_STREAM: Final = "council.keys"
"""The stream of the log that records the council's key registry (domain.keys), beside the
council's own."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RosterVersion(_Frozen):
    """Who sits from `effective_from` (00:00 UTC) until `effective_until` or the next version."""

    version: int = Field(ge=1)
    effective_from: date
    effective_until: date | None = None
    members: tuple[MemberCode, ...] = Field(min_length=1)


class AreaOfCooperation(_Frozen):
    """An area in which the council's members cooperate; a decision names one."""

    code: AreaCode
    name: str = Field(min_length=1)


class Level(_Frozen):
    """A level at which the council sits (ambassadors, ministers, senior officials, ...)."""

    code: LevelCode
    name: str = Field(min_length=1)


_ROME_NAMES: Final = {
    "struggle_against_terrorism": "Struggle against terrorism",
    "crisis_management": "Crisis management",
    "non_proliferation": "Non-proliferation",
    "arms_control_and_csbms": "Arms control and confidence-building measures",
    "theatre_missile_defence": "Theatre missile defence",
    "search_and_rescue_at_sea": "Search and rescue at sea",
    "military_cooperation_and_defence_reform": "Military-to-military cooperation and defence "
    "reform",
    "civil_emergencies": "Civil emergencies",
    "new_threats_and_challenges": "New threats and challenges",
}
_NRC_LEVEL_NAMES: Final = {
    CouncilLevel.AMBASSADORS: "Ambassadors",
    CouncilLevel.FOREIGN_MINISTERS: "Foreign Ministers",
    CouncilLevel.DEFENCE_MINISTERS: "Defence Ministers",
    CouncilLevel.HEADS_OF_STATE_AND_GOVERNMENT: "Heads of State and Government",
    CouncilLevel.CHIEFS_OF_STAFF: "Chiefs of Staff",
    CouncilLevel.MILITARY_REPRESENTATIVES: "Military Representatives",
}
NRC_AREAS: Final = tuple(AreaOfCooperation(code=a, name=_ROME_NAMES[a]) for a in ROME_AREAS)
NRC_LEVELS: Final = tuple(Level(code=v.value, name=n) for v, n in _NRC_LEVEL_NAMES.items())


class Council(_Frozen):
    """A council: equal members, a chair who convenes but is not one, its areas of cooperation
    and levels, bodies, roster versions."""

    code: BodyCode = Field(description="the council's code, e.g. NRC")
    name: str = Field(min_length=1)
    chair: Chair = Chair()
    areas: tuple[AreaOfCooperation, ...] = Field(
        default=NRC_AREAS,
        description="its areas of cooperation; every council also has `other`, with a label "
        "(the NATO-Russia Council's areas when left out)",
    )
    levels: tuple[Level, ...] = Field(
        default=NRC_LEVELS,
        description="the levels at which its council bodies sit (the NATO-Russia Council's "
        "when left out)",
    )
    minimum_silence: timedelta = Field(
        default=timedelta(0),
        ge=timedelta(0),
        description="ISO 8601 duration, e.g. P1D: the shortest silence procedure a round may "
        "give the members to answer (none when left out); a body may set its own",
    )
    signed_answers: tuple[SignedAnswer, ...] = Field(
        default=(),
        description="the answers each member must sign with its own key (`concord keys`): "
        "any of concur, break_silence, withdraw_objection, register_concern, report_progress, "
        "raise_issue, request_meeting; none when left out (an answer may still be signed)",
    )
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
                    areas=tuple(a.code for a in self.areas),
                    minimum_silence=self.minimum_silence,
                    signed_answers=self.signed_answers,
                )
                for r in sorted(self.rosters, key=lambda r: r.version)
            )
        )

    def body(self, code: str) -> Body | None:
        return next((b for b in self.bodies if b.code == code), None)

    def without_minimum_silence(self) -> Council:
        """The council with no minimum silence period, its own or its bodies': rounds of seconds,
        for a demonstration or a test, never for a decision of record."""
        bodies = tuple(b.model_copy(update={"minimum_silence": None}) for b in self.bodies)
        return self.model_copy(update={"minimum_silence": timedelta(0), "bodies": bodies})


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
    """The council a parsed file describes; CouncilFileInvalid lists every problem found: those
    of form, and those of reference and consistency among the parts that are well formed."""
    try:
        council = Council.model_validate(document)
    except ValidationError as error:
        errors = error.errors(include_url=False)
        problems = _form_problems(errors, document)
        if isinstance(document, Mapping):
            problems += _partial_problems(document, {_location(e["loc"])[:1] for e in errors})
        raise CouncilFileInvalid(sorted(problems, key=_in_file_order)) from None
    problems = list(council_problems(council))
    if problems:
        raise CouncilFileInvalid(problems)
    return council


def _location(loc: tuple[Any, ...]) -> Location:
    # pydantic names the branch of a union it tried ("tuple[...]", "literal['all']"): not a key.
    return tuple(p for p in loc if isinstance(p, int) or not (("[" in p) or ("'" in p)))


def _form_problems(errors: list[Any], document: Any) -> list[tuple[Location, str]]:
    """Pydantic's errors as problems, without its noise: of a union (`members: all` or a
    list), only the errors of the branch the value took; and no "too short" for a list whose
    items were refused (it is the refused items that made it short)."""
    with_items = {_location(e["loc"])[:1] for e in errors if len(_location(e["loc"])) > 1}
    problems: list[tuple[Location, str]] = []
    for e in errors:
        loc = _location(e["loc"])
        at = next((i for i, p in enumerate(e["loc"]) if isinstance(p, str) and "[" in p), None)
        if at is not None and _other_branch(e["loc"][at], _value_at(document, e["loc"][:at])):
            continue
        if e["type"] == "too_short" and len(loc) == 1 and loc in with_items:
            continue
        problems.append((loc, e["msg"]))
    return problems


def _other_branch(branch: str, value: Any) -> bool:
    """Whether a union's branch is not the one `value` took: a list is not `all`."""
    return branch.startswith("literal") == isinstance(value, list | tuple)


def _value_at(document: Any, loc: tuple[Any, ...]) -> Any:
    value = document
    for part in loc:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


_SECTIONS: Final[dict[str, type[BaseModel]]] = {
    "members": Member,
    "areas": AreaOfCooperation,
    "levels": Level,
    "bodies": Body,
    "rosters": RosterVersion,
}


_NAMED: Final = ("members", "levels")
"""The sections other items refer to by code."""


def _partial_problems(
    document: Mapping[str, Any], broken: set[Location]
) -> list[tuple[Location, str]]:
    """The problems of reference and consistency among the well-formed items of a file that
    has problems of form: each item is checked alone, and a check that reads a section with a
    refused item is left out (it would report what the refused item was meant to be)."""
    fields: dict[str, Any] = {}
    where: dict[str, list[int]] = {}
    for name, model in _SECTIONS.items():
        if name not in document:
            continue
        items = document[name]
        kept, positions = [], []
        for i, item in enumerate(items if isinstance(items, list) else []):
            try:
                kept.append(model.model_validate(item))
            except ValidationError:
                if name not in _NAMED or not isinstance(item, Mapping):
                    continue
                # A member or level refused for its form still has the code it was given: what
                # refers to that code is not "unknown".
                kept.append(model.model_construct(code=str(item.get("code"))))
            positions.append(i)
        fields[name], where[name] = tuple(kept), positions
    council = Council.model_construct(**fields)
    trusted = frozenset(name for name in _SECTIONS if name in _NAMED or (name,) not in broken)
    return [
        (_in_document(loc, where), message) for loc, message in council_problems(council, trusted)
    ]


def _in_document(loc: Location, where: dict[str, list[int]]) -> Location:
    """A location in the council built of the kept items, as a location in the file."""
    if len(loc) > 1 and isinstance(loc[1], int) and str(loc[0]) in where:
        return (loc[0], where[str(loc[0])][loc[1]], *loc[2:])
    return loc


def _in_file_order(problem: tuple[Location, str]) -> tuple[int, tuple[str, ...]]:
    order = ("code", "name", "chair", *_SECTIONS)
    loc = problem[0]
    head = str(loc[0]) if loc else ""
    return (
        order.index(head) if head in order else len(order),
        tuple(str(p).zfill(6) for p in loc[1:]),
    )


def council_problems(
    council: Council, trusted: frozenset[str] = frozenset(_SECTIONS)
) -> Iterator[tuple[Location, str]]:
    """Every problem of reference and consistency a well-formed council still can have; a
    check that reads a section not `trusted` (one with items refused for their form) is left
    out."""
    yield from _duplicates(("members",), [m.code for m in council.members], "member", ("code",))
    yield from _duplicates(("bodies",), [b.code for b in council.bodies], "body", ("code",))
    yield from _duplicates(
        ("rosters",), [r.version for r in council.rosters], "roster version", ("version",)
    )
    yield from _duplicates(("areas",), [a.code for a in council.areas], "area", ("code",))
    for i, area in enumerate(council.areas):
        if area.code == OTHER:
            yield ("areas", i, "code"), "every council has the area other; leave it out"
    yield from _duplicates(("levels",), [v.code for v in council.levels], "level", ("code",))
    levels = [v.code for v in council.levels]
    known = {m.code for m in council.members}
    members_known, levels_known = "members" in trusted, "levels" in trusted
    for i, body in enumerate(council.bodies):
        if body.code in known:
            yield ("bodies", i, "code"), f"{body.code} is a member's code; a body needs its own"
        if levels_known and body.level is not None and body.level not in levels:
            yield (
                ("bodies", i, "level"),
                f"unknown level {body.level}: not among the council's levels "
                f"({', '.join(levels) or 'none'})",
            )
        if body.members != ALL_MEMBERS:
            if members_known:
                yield from _unknown(("bodies", i, "members"), body.members, known)
            yield from _duplicates(("bodies", i, "members"), list(body.members), "member")
        cadence = body.cadence
        if cadence is not None and council.rosters and (why := cadence.shortfall(council.anchor)):
            yield ("bodies", i, "cadence"), why
    if "bodies" in trusted:
        yield from _bodies_of(council)
    for i, roster in enumerate(council.rosters):
        if members_known:
            yield from _unknown(("rosters", i, "members"), roster.members, known)
        yield from _duplicates(("rosters", i, "members"), list(roster.members), "member")
        if roster.effective_until is not None and roster.effective_until <= roster.effective_from:
            yield ("rosters", i, "effective_until"), "must be after effective_from"
    if "rosters" in trusted:
        yield from _roster_order(council.rosters)


def _bodies_of(council: Council) -> Iterator[tuple[Location, str]]:
    """What a council's bodies together must be: a body at each of its levels, at most one
    preparatory committee, and a body that decides."""
    sitting = levels_of(council.bodies)
    if "levels" in council.model_fields_set:
        for i, level in enumerate(council.levels):
            if level.code not in sitting:
                yield ("levels", i), f"no council body sits at the level {level.code}"
    committees = sum(b.kind is BodyKind.PREPARATORY_COMMITTEE for b in council.bodies)
    if committees > 1:
        yield (
            ("bodies",),
            "a council has at most one body of kind preparatory_committee; this one has "
            f"{committees}",
        )
    if not any(b.kind in DECIDING_KINDS for b in council.bodies):
        yield ("bodies",), "a council needs a body that decides: a council or a working group"


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


def stranded(council: Council, states: Iterable[DecisionState]) -> list[str]:
    """What each decision in flight relies on that `council` lacks, one line per decision that
    would be stranded by it ("d-1: body NRC-AMB, member RUS"): its area; its body, its plan's
    monitoring body and the bodies items are assigned to; its level and the levels it asked to
    meet at; its proposer, the members of its rounds and those items are assigned to."""
    bodies = {b.code for b in council.bodies}
    levels = levels_of(council.bodies)
    members = {m.code for m in council.members}
    lines = []
    for state in states:
        items = (*state.plan_draft, *(state.plan.action_items if state.plan else ()))
        assigned = [i.assignee for i in items if i.assignee.code is not None]
        needs: dict[str, list[str]] = {
            "area": [state.area] if state.area != OTHER else [],
            "body": [
                state.body,
                *([state.plan.monitoring_body] if state.plan else []),
                *(a.code for a in assigned if a.kind is AssigneeKind.BODY and a.code),
            ],
            "level": [*([state.level] if state.level else []), *(m.level for m in state.meetings)],
            "member": [
                *([state.proposer] if state.proposer != CHAIR else []),
                *(m for r in state.rounds for m in r.members),
                *(a.code for a in assigned if a.kind is AssigneeKind.MEMBER and a.code),
            ],
        }
        areas = {a.code for a in council.areas}
        has = {"area": areas, "body": bodies, "level": levels, "member": members}
        missing = [
            f"{what} {code}"
            for what, codes in needs.items()
            for code in dict.fromkeys(codes)
            if code not in has[what]
        ]
        if missing:
            lines.append(f"{state.decision_id}: {', '.join(missing)}")
    return lines
