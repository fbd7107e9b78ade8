"""A council's own events: the changes an import records in the council's stream (and the
council folded back from them), and the sittings of its bodies, each in its meeting's stream."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, TypedDict

from pydantic import AwareDatetime, Field, StringConstraints, TypeAdapter

from domain.agenda import AgendaItem
from domain.council import (
    COUNCIL_STREAM,
    NRC_AREAS,
    NRC_LEVELS,
    AreaOfCooperation,
    Council,
    Level,
    RosterVersion,
)
from domain.errors import InvalidHistory, InvalidInput, Refusal, Rule
from domain.roster import CHAIR, Body, Chair, Member, SignedAnswer
from domain.statements import KeyId, PublicKey, SignatureText
from domain.values import ActorCode, AgendaItemKind, Frozen, Principal

CouncilStreamId = Annotated[str, StringConstraints(pattern=r"^(council|meeting)\.[a-z0-9-]{1,55}$")]
Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


class CouncilEnvelope(TypedDict):
    """CouncilEventBase's fields as a typed mapping, to spread into an event's constructor."""

    stream_id: str
    stream_version: int
    occurred_at: datetime
    actor: str
    recorded_by: str


class CouncilEventBase(Frozen):
    """The envelope of a council's event: its stream, version, when, for whom, by whom."""

    stream_id: CouncilStreamId
    stream_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    actor: ActorCode
    recorded_by: Principal


class CouncilFileImported(CouncilEventBase):
    """A council file was imported: the changes that follow in the same batch are its."""

    type: Literal["CouncilFileImported"] = "CouncilFileImported"
    council: str
    source: str
    digest: Digest


class CouncilConstituted(CouncilEventBase):
    type: Literal["CouncilConstituted"] = "CouncilConstituted"
    code: str
    name: str
    chair: Chair


class CouncilDescribed(CouncilEventBase):
    """The council's name or chair changed."""

    type: Literal["CouncilDescribed"] = "CouncilDescribed"
    name: str
    chair: Chair


class CouncilScopeDefined(CouncilEventBase):
    """The council's areas of cooperation, the levels it sits at and its shortest silence
    procedure (a council without this event has the NATO-Russia Council's areas and levels,
    and no minimum)."""

    type: Literal["CouncilScopeDefined"] = "CouncilScopeDefined"
    areas: tuple[AreaOfCooperation, ...]
    levels: tuple[Level, ...]
    minimum_silence: timedelta = timedelta(0)
    signed_answers: tuple[SignedAnswer, ...] = ()
    """The answers members must sign (none in a scope defined before a council required any)."""


class RosterVersionAdopted(CouncilEventBase):
    """A roster version: who sits from `effective_from` until `effective_until` or the next."""

    type: Literal["RosterVersionAdopted"] = "RosterVersionAdopted"
    version: int
    effective_from: date
    effective_until: date | None = None
    members: tuple[Member, ...]


class BodyEstablished(CouncilEventBase):
    type: Literal["BodyEstablished"] = "BodyEstablished"
    body: Body


class BodyChanged(CouncilEventBase):
    """A body's name, members or cadence changed: `changed` names which."""

    type: Literal["BodyChanged"] = "BodyChanged"
    body: Body
    changed: tuple[str, ...]


class BodyDissolved(CouncilEventBase):
    type: Literal["BodyDissolved"] = "BodyDissolved"
    code: str


class SittingKind(StrEnum):
    REGULAR = "regular"
    EXTRAORDINARY = "extraordinary"


class SittingConvened(CouncilEventBase):
    """A body sits, with the agenda that was pending at its instant (the first event of the
    meeting's stream)."""

    type: Literal["SittingConvened"] = "SittingConvened"
    body: str
    sitting_at: AwareDatetime
    kind: SittingKind
    agenda: tuple[AgendaItem, ...]
    requested_by: str | None = None
    request: str | None = None
    """The extraordinary request the sitting answers: `<decision id>#<request number>`."""


class ItemOutcome(Frozen):
    """What a sitting concluded on one item of its agenda."""

    decision_id: str
    item: AgendaItemKind
    outcome: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class SittingRecorded(CouncilEventBase):
    """The record of a sitting the chair keeps: who was present, the outcome of each item."""

    type: Literal["SittingRecorded"] = "SittingRecorded"
    present: tuple[str, ...]
    outcomes: tuple[ItemOutcome, ...] = ()


class KeyAuthority(StrEnum):
    """On whose authority a member's key changed."""

    MEMBER = "member"
    """The member's own: the key in force signed the change (a rotation, a revocation)."""
    CHAIR = "chair"
    """The chair's, through the secretariat, without the member's key: a first key, or one
    replacing a lost key. Shown as such wherever the key appears."""


class MemberKeyRegistered(CouncilEventBase):
    """A key is in force for a member from this event's instant, replacing the one before it.
    `possession` is the new key's signature over the change's statement
    (domain.statements.KeyStatement, change "register"); with the member's authority,
    `endorsement` is the replaced key's (`endorsed_by`) over the same statement."""

    type: Literal["MemberKeyRegistered"] = "MemberKeyRegistered"
    member: ActorCode
    key_id: KeyId
    public_key: PublicKey
    possession: SignatureText
    authority: KeyAuthority
    endorsed_by: KeyId | None = None
    endorsement: SignatureText | None = None


class MemberKeyRevoked(CouncilEventBase):
    """A member's key is out of force from this event's instant, with no successor. With the
    member's authority, `endorsement` is the key's own signature over the change's statement
    (change "revoke")."""

    type: Literal["MemberKeyRevoked"] = "MemberKeyRevoked"
    member: ActorCode
    key_id: KeyId
    public_key: PublicKey
    authority: KeyAuthority
    endorsement: SignatureText | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


CouncilEvent = Annotated[
    CouncilFileImported
    | CouncilConstituted
    | CouncilDescribed
    | CouncilScopeDefined
    | RosterVersionAdopted
    | BodyEstablished
    | BodyChanged
    | BodyDissolved
    | SittingConvened
    | SittingRecorded
    | MemberKeyRegistered
    | MemberKeyRevoked,
    Field(discriminator="type"),
]
COUNCIL_EVENT_ADAPTER: TypeAdapter[CouncilEvent] = TypeAdapter(CouncilEvent)
COUNCIL_ENVELOPE = frozenset({"type", "stream_id", "stream_version", "occurred_at", "actor"})


def council_payload(event: CouncilEventBase) -> dict[str, Any]:
    """The event's own fields as JSON values, without its envelope: what the log stores."""
    return event.model_dump(mode="json", exclude=set(COUNCIL_ENVELOPE | {"recorded_by"}))


def parse_council_event(envelope: dict[str, Any], payload: dict[str, Any]) -> CouncilEvent:
    """Rebuild a council's event from its stored envelope and payload."""
    return COUNCIL_EVENT_ADAPTER.validate_python({**payload, **envelope})


class CouncilImport:
    """The events importing `council` records on the council folded from `recorded` events."""

    def __init__(
        self,
        recorded: Council | None,
        version: int,
        now: datetime,
        actor: str,
        recorded_by: str,
    ) -> None:
        self._recorded = recorded
        self._version = version
        self._now = now
        self._actor = actor
        self._recorded_by = recorded_by
        self.events: list[CouncilEvent] = []

    def changes(self, council: Council, source: str, digest: str) -> list[CouncilEvent]:
        """Every change `council` makes to the recorded one (none when they are the same);
        Refusal when it would rewrite what rounds may already be bound to."""
        old = self._recorded
        if old is not None and old.code != council.code:
            raise Refusal(
                Rule.COUNCIL_CHANGE,
                f"this installation records council {old.code}; a file for {council.code} "
                "cannot be imported into it",
                council=old.code,
                given=council.code,
            )
        self._emit(
            CouncilFileImported(
                **self._envelope(), council=council.code, source=source, digest=digest
            )
        )
        if old is None:
            self._emit(
                CouncilConstituted(
                    **self._envelope(), code=council.code, name=council.name, chair=council.chair
                )
            )
        elif (old.name, old.chair) != (council.name, council.chair):
            self._emit(CouncilDescribed(**self._envelope(), name=council.name, chair=council.chair))
        scope = (council.areas, council.levels, council.minimum_silence, council.signed_answers)
        before = (
            (old.areas, old.levels, old.minimum_silence, old.signed_answers) if old else _NO_SCOPE
        )
        if scope != before:
            self._emit(
                CouncilScopeDefined(
                    **self._envelope(),
                    areas=council.areas,
                    levels=council.levels,
                    minimum_silence=council.minimum_silence,
                    signed_answers=council.signed_answers,
                )
            )
        self._rosters(old, council)
        self._bodies(old, council)
        return self.events if len(self.events) > 1 else []

    def _rosters(self, old: Council | None, council: Council) -> None:
        before = {r.version: r for r in old.rosters} if old else {}
        after = {r.version: r for r in council.rosters}
        for number, kept in before.items():
            if number not in after:
                raise Refusal(
                    Rule.COUNCIL_CHANGE,
                    f"roster version {number} is recorded; a council file cannot drop it",
                    council=council.code,
                    version=number,
                )
            if _without_names(after[number]) != _without_names(kept):
                raise Refusal(
                    Rule.COUNCIL_CHANGE,
                    f"roster version {number} is recorded and rounds may be bound to it: add a "
                    "new version instead of changing it",
                    council=council.code,
                    version=number,
                )
        for number in sorted(set(after) - set(before)):
            r = after[number]
            self._emit(
                RosterVersionAdopted(
                    **self._envelope(),
                    version=r.version,
                    effective_from=r.effective_from,
                    effective_until=r.effective_until,
                    members=tuple(Member(code=c, name=council.member_name(c)) for c in r.members),
                )
            )

    def _bodies(self, old: Council | None, council: Council) -> None:
        before = {b.code: b for b in old.bodies} if old else {}
        for body in council.bodies:
            kept = before.pop(body.code, None)
            if kept is None:
                self._emit(BodyEstablished(**self._envelope(), body=body))
            elif kept != body:
                changed = tuple(
                    f for f in Body.model_fields if getattr(kept, f) != getattr(body, f)
                )
                self._emit(BodyChanged(**self._envelope(), body=body, changed=changed))
        for code in before:
            self._emit(BodyDissolved(**self._envelope(), code=code))

    def _envelope(self) -> CouncilEnvelope:
        """The envelope of the next event this import records."""
        return {
            "stream_id": COUNCIL_STREAM,
            "stream_version": self._version + len(self.events) + 1,
            "occurred_at": self._now,
            "actor": self._actor,
            "recorded_by": self._recorded_by,
        }

    def _emit(self, event: CouncilEvent) -> None:
        self.events.append(event)


_NO_SCOPE: Final[tuple[Any, ...]] = (NRC_AREAS, NRC_LEVELS, timedelta(0), ())
"""The scope of a council recorded without CouncilScopeDefined."""


def _without_names(r: RosterVersion) -> tuple[Any, ...]:
    return (r.effective_from, r.effective_until, tuple(sorted(r.members)))


def folded_council(events: list[CouncilEvent]) -> Council | None:
    """The council its recorded events describe; None before the first import."""
    code = name = None
    chair = Chair()
    names: dict[str, str] = {}
    bodies: dict[str, Body] = {}
    rosters: dict[int, RosterVersion] = {}
    areas, levels, minimum_silence, signed_answers = _NO_SCOPE
    for event in events:
        match event:
            case CouncilScopeDefined():
                areas, levels, minimum_silence = event.areas, event.levels, event.minimum_silence
                signed_answers = event.signed_answers
            case CouncilConstituted():
                code, name, chair = event.code, event.name, event.chair
            case CouncilDescribed():
                name, chair = event.name, event.chair
            case RosterVersionAdopted():
                names.update({m.code: m.name for m in event.members})
                rosters[event.version] = RosterVersion(
                    version=event.version,
                    effective_from=event.effective_from,
                    effective_until=event.effective_until,
                    members=tuple(m.code for m in event.members),
                )
            case BodyEstablished() | BodyChanged():
                bodies[event.body.code] = event.body
            case BodyDissolved():
                bodies.pop(event.code, None)
            case (
                CouncilFileImported()
                | SittingConvened()
                | SittingRecorded()
                | MemberKeyRegistered()
                | MemberKeyRevoked()
            ):
                pass  # the key registry is folded by domain.keys
    if code is None or name is None:
        if events:
            raise InvalidHistory(f"council stream {events[0].stream_id} has no CouncilConstituted")
        return None
    return Council(
        code=code,
        name=name,
        chair=chair,
        areas=areas,
        levels=levels,
        minimum_silence=minimum_silence,
        signed_answers=signed_answers,
        members=tuple(Member(code=c, name=n) for c, n in names.items()),
        bodies=tuple(bodies.values()),
        rosters=tuple(rosters[v] for v in sorted(rosters)),
    )


def sitting_record(
    sitting: SittingConvened,
    recorded: bool,
    members: tuple[str, ...],
    present: tuple[str, ...],
    outcomes: tuple[ItemOutcome, ...],
    now: datetime,
    recorded_by: str,
) -> SittingRecorded:
    """The record of `sitting` (whose body's members on its roster are `members`), kept once,
    after it sat; a member not of the body, or an outcome for an item not on the agenda, is
    refused by name."""
    if recorded:
        raise Refusal(
            Rule.WRONG_STATE,
            f"{sitting.stream_id} is recorded already",
            meeting=sitting.stream_id,
            status="recorded",
        )
    if now < sitting.sitting_at:
        raise Refusal(
            Rule.WRONG_STATE,
            f"{sitting.stream_id} sits at {sitting.sitting_at.isoformat()}: record it after",
            meeting=sitting.stream_id,
            status="convened",
            at=sitting.sitting_at.isoformat(),
        )
    if not present:
        raise InvalidInput("present", "name the members recorded present")
    for code in present:
        if code not in members:
            raise Refusal(
                Rule.NOT_ON_ROSTER,
                f"{code} is not a member of {sitting.body}",
                member=code,
                body=sitting.body,
            )
    if len(set(present)) != len(present):
        raise InvalidInput("present", "names a member twice")
    on_agenda = {(i.decision_id, i.item) for i in sitting.agenda}
    for outcome in outcomes:
        if (outcome.decision_id, outcome.item) not in on_agenda:
            raise InvalidInput(
                "outcome",
                f"{outcome.decision_id} {outcome.item.value} is not on the agenda of "
                f"{sitting.stream_id}",
            )
    return SittingRecorded(
        stream_id=sitting.stream_id,
        stream_version=2,
        occurred_at=now,
        actor=CHAIR,
        recorded_by=recorded_by,
        present=tuple(sorted(present)),
        outcomes=outcomes,
    )
