"""Members' answers as the log holds them, each checked against the council's key registry: a
signed answer is its member's word when the key that signed it was the member's, in force when
the answer was recorded, and the signature is over the answer exactly as its event records it
(domain.keys.answer_finding); an unsigned one is shown as such, for what it is: recorded, by
whoever recorded it, without the member's key.

Everything is rebuilt from the hashed bodies of the log (never from its columns), so a signed
answer written into the store by someone without the member's key fails here however well its
row is chained."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from audit.chain_check import BreakReason, LogBreak
from audit.signing import verify
from domain.council import COUNCIL_STREAM, KEYS_STREAM
from domain.council_events import CouncilScopeDefined
from domain.declarations import SIGNED_BY_EVENT
from domain.errors import InvalidHistory
from domain.keys import KeyRegistry, answer_finding, signed_answer
from store.council_events import council_event, registry_of
from store.councils import Councils
from store.decision_events import domain_event

if TYPE_CHECKING:
    from store.eventstore import EventStore
    from store.records import StoredEvent


class Signed(StrEnum):
    """What an answer's signature shows."""

    BY_MEMBER = "signed"
    """Signed by its member's key in force: the member's own word."""
    UNSIGNED = "unsigned"
    """Recorded without a signature: it rests on whoever recorded it (`recorded_by`)."""
    BAD = "bad_signature"
    """It carries a signature that is not its member's over it: a forgery or a broken record."""
    MISSING = "missing_signature"
    """Unsigned, though its council required it signed: recorded without the member's key."""


class AnswerRecord(BaseModel):
    """One member's answer and what its signature shows."""

    model_config = ConfigDict(frozen=True)

    position: int
    decision_id: str
    stream_version: int
    kind: str
    member: str
    recorded_by: str
    occurred_at: datetime
    status: Signed
    key_id: str | None = None
    key_flagged: bool = False
    """The key was put in force on the chair's authority, not endorsed by the member's own."""
    finding: str | None = None
    """Why a bad signature is not the member's."""


class AnswersReport(BaseModel):
    """How many answers the log holds signed and unsigned, and the first that is neither."""

    model_config = ConfigDict(frozen=True)

    signed: int = 0
    unsigned: int = 0
    first_break: LogBreak | None = None


async def key_registry(store: EventStore) -> KeyRegistry:
    """The store's key registry (registry_of)."""
    return registry_of(await store.stream(KEYS_STREAM))


async def checked_answers(
    store: EventStore, origin: str, decision_id: str | None = None
) -> AsyncIterator[AnswerRecord]:
    """Every member's answer in log order (one decision's, with `decision_id`), each checked
    against the key registry for the log `origin`. A body's (the Preparatory Committee's report
    back) is not a member's, and is left out unless it claims a signature (which no member's key
    can give it)."""
    registry = await key_registry(store)
    members = {member.code for member in (await Councils(store).in_force()).members}
    required = await Requirements.of(store)
    async for stored in store.events_of_types(SIGNED_BY_EVENT, decision_id):
        if stored.actor in members or stored.payload.get("signature") is not None:
            kinds = await required.of_decision(store, stored.decision_id)
            yield checked_answer(
                stored, registry, origin, SIGNED_BY_EVENT[stored.type].kind in kinds
            )


class Requirements:
    """Which answers the council required signed, as its stream recorded it over time. A
    decision is decided under the council in force when it was proposed (its rosters go with
    its workflow), so an answer is held to the requirement of its decision's proposal."""

    def __init__(self, changes: list[tuple[datetime, frozenset[str]]]) -> None:
        self._changes = changes
        self._decisions: dict[str, frozenset[str]] = {}

    @classmethod
    async def of(cls, store: EventStore) -> Requirements:
        changes: list[tuple[datetime, frozenset[str]]] = []
        for stored in await store.stream(COUNCIL_STREAM):
            event = council_event(stored)
            if isinstance(event, CouncilScopeDefined):
                changes.append((event.occurred_at, frozenset(event.signed_answers)))
        return cls(changes)

    def at(self, instant: datetime) -> frozenset[str]:
        """The answers required signed at `instant`."""
        found: frozenset[str] = frozenset()
        for since, kinds in self._changes:
            if since > instant:
                break
            found = kinds
        return found

    async def of_decision(self, store: EventStore, decision_id: str) -> frozenset[str]:
        """The answers required signed in the decision: those of its proposal's instant."""
        if not any(kinds for _, kinds in self._changes):
            return frozenset()
        if decision_id not in self._decisions:
            first = await store.events_until(decision_id, None, through=1)
            self._decisions[decision_id] = self.at(first[0].occurred_at) if first else frozenset()
        return self._decisions[decision_id]


async def check_answers(store: EventStore, origin: str) -> AnswersReport:
    """How many answers are signed by their members and how many unsigned, and the first whose
    signature is not its member's, with its position."""
    signed = unsigned = 0
    async for answer in checked_answers(store, origin):
        if answer.status in (Signed.BAD, Signed.MISSING):
            found = LogBreak(
                position=answer.position,
                reason=BreakReason.BAD_SIGNATURE
                if answer.status is Signed.BAD
                else BreakReason.MISSING_SIGNATURE,
                message=f"{answer.decision_id} v{answer.stream_version}, {answer.member}'s "
                f"{answer.kind}: {answer.finding}",
            )
            return AnswersReport(signed=signed, unsigned=unsigned, first_break=found)
        if answer.status is Signed.BY_MEMBER:
            signed += 1
        else:
            unsigned += 1
    return AnswersReport(signed=signed, unsigned=unsigned)


def checked_answer(
    stored: StoredEvent, registry: KeyRegistry, origin: str, required: bool = False
) -> AnswerRecord:
    """A member's answer (an event of a type SIGNED_BY_EVENT names) and what its signature
    shows, against `registry` for the log `origin`; `required`: its council required it
    signed."""
    declared = SIGNED_BY_EVENT[stored.type]
    shown = AnswerRecord(
        position=stored.position,
        decision_id=stored.decision_id,
        stream_version=stored.stream_version,
        kind=declared.kind,
        member=stored.actor,
        recorded_by=stored.recorded_by,
        occurred_at=stored.occurred_at,
        status=Signed.UNSIGNED,
    )
    if stored.payload.get("signature") is None:
        if required:
            return shown.model_copy(
                update={
                    "status": Signed.MISSING,
                    "finding": f"the council required a {declared.kind} signed by its member "
                    "when the decision was proposed; it is unsigned",
                }
            )
        return shown
    try:
        found = signed_answer(origin, domain_event(stored))
    except InvalidHistory as error:
        return shown.model_copy(update={"status": Signed.BAD, "finding": str(error)})
    assert found is not None, "a payload with a signature is a signed answer"
    statement, signature = found
    finding = answer_finding(registry, statement, signature, stored.occurred_at, verify)
    period = registry.by_id.get(signature.key_id)
    return shown.model_copy(
        update={
            "status": Signed.BAD if finding else Signed.BY_MEMBER,
            "key_id": signature.key_id,
            "key_flagged": period is not None and period.flagged,
            "finding": finding,
        }
    )
