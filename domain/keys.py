"""The council's key registry: which key speaks for each member, from when until when, on whose
authority; the rules a key change follows; and what makes a signed answer the member's word.

A member has at most one key in force at a time. A key comes into force when its registration is
recorded (MemberKeyRegistered) and leaves it when the next one is, or when it is revoked
(MemberKeyRevoked): a change takes effect at the instant it is recorded, never earlier, so no
change can reach back over answers already given. A change the key in force signed is the
member's own; any other (a first key, a lost key, a key swapped without the old key) is on the
chair's authority and is flagged wherever the key appears.

Signatures are checked by a `Verify` the caller passes in (Ed25519 over the statement's bytes);
the domain imports no cryptography.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from domain.commands import MemberAnswer
from domain.council_events import (
    CouncilEnvelope,
    CouncilEvent,
    KeyAuthority,
    MemberKeyRegistered,
    MemberKeyRevoked,
)
from domain.declarations import BY_KIND, SIGNED_BY_EVENT
from domain.errors import InvalidHistory, InvalidInput, Refusal, Rule
from domain.events import Event
from domain.statements import (
    AnswerSignature,
    AnswerStatement,
    answer_statement,
    key_change,
    key_id_of,
    signed_fields,
    unb64,
)
from domain.values import principal_role

Verify = Callable[[str, bytes, str], bool]
"""Whether a signature (unpadded base64url) over some bytes is the public key's (unpadded
base64url): Ed25519, by whichever library the caller trusts."""

CLAIM_SKEW: Final = timedelta(minutes=5)
"""How far after its recording an answer's claimed instant may lie (clocks differ)."""
CLAIM_AGE: Final = timedelta(days=1)
"""How long before its recording an answer may have been signed."""


@dataclass(frozen=True)
class KeyPeriod:
    """One key of a member, and when it was in force: from `since` until `until` (None: still)."""

    member: str
    key_id: str
    public_key: str
    authority: KeyAuthority
    since: datetime
    until: datetime | None = None
    ended: str | None = None
    """"rotated" (a later key replaced it) or "revoked"; None while in force."""

    @property
    def flagged(self) -> bool:
        """Put in force without the member's own key: on the chair's authority."""
        return self.authority is KeyAuthority.CHAIR

    def document(self) -> dict[str, str | bool | None]:
        """The period as the CLI and the API show it (instants in ISO 8601)."""
        return {
            "member": self.member,
            "key_id": self.key_id,
            "public_key": self.public_key,
            "since": self.since.isoformat(),
            "until": self.until.isoformat() if self.until else None,
            "ended": self.ended,
            "authority": self.authority.value,
            "flagged": self.flagged,
        }

    def in_force_at(self, instant: datetime) -> bool:
        return self.since <= instant and (self.until is None or instant < self.until)


@dataclass
class KeyRegistry:
    """Every member's keys, folded from the council stream's key events in their order."""

    periods: dict[str, list[KeyPeriod]] = field(default_factory=dict)
    by_id: dict[str, KeyPeriod] = field(default_factory=dict)

    @classmethod
    def folded(cls, events: Iterable[CouncilEvent]) -> KeyRegistry:
        registry = cls()
        for event in events:
            if isinstance(event, MemberKeyRegistered | MemberKeyRevoked):
                registry.evolve(event)
        return registry

    def evolve(self, event: MemberKeyRegistered | MemberKeyRevoked) -> None:
        """The registry after `event`; InvalidHistory when the stream could not hold it."""
        held = self.periods.setdefault(event.member, [])
        current = held[-1] if held and held[-1].until is None else None
        if isinstance(event, MemberKeyRevoked):
            if current is None or current.key_id != event.key_id:
                raise InvalidHistory(
                    f"{event.stream_id} v{event.stream_version} revokes {event.key_id}, which "
                    f"is not {event.member}'s key in force"
                )
            self._end(held, current, event.occurred_at, "revoked")
            return
        if event.key_id in self.by_id:
            raise InvalidHistory(
                f"{event.stream_id} v{event.stream_version} registers {event.key_id} again"
            )
        if current is not None:
            self._end(held, current, event.occurred_at, "rotated")
        period = KeyPeriod(
            member=event.member,
            key_id=event.key_id,
            public_key=event.public_key,
            authority=event.authority,
            since=event.occurred_at,
        )
        held.append(period)
        self.by_id[period.key_id] = period

    def _end(self, held: list[KeyPeriod], period: KeyPeriod, at: datetime, how: str) -> None:
        ended = KeyPeriod(**{**period.__dict__, "until": at, "ended": how})
        held[-1] = ended
        self.by_id[period.key_id] = ended

    def in_force(self, member: str, at: datetime) -> KeyPeriod | None:
        """The member's key in force at `at`, if any."""
        for period in reversed(self.periods.get(member, [])):
            if period.in_force_at(at):
                return period
        return None

    def flagged(self) -> frozenset[str]:
        """The ids of the keys put in force on the chair's authority."""
        return frozenset(key_id for key_id, period in self.by_id.items() if period.flagged)

    def listed(self) -> list[KeyPeriod]:
        """Every key of every member, by member, oldest first."""
        return sorted(
            (p for held in self.periods.values() for p in held), key=lambda p: (p.member, p.since)
        )

    def current(self, member: str) -> KeyPeriod | None:
        held = self.periods.get(member, [])
        return held[-1] if held and held[-1].until is None else None


def registration(
    registry: KeyRegistry,
    envelope: CouncilEnvelope,
    origin: str,
    member: str,
    public_key: str,
    possession: str,
    verify: Verify,
    endorsement: str | None = None,
) -> MemberKeyRegistered:
    """The event that puts `public_key` in force for `member` at the envelope's instant.

    `possession` must be the new key's signature over the change's statement. With
    `endorsement`, the member's key in force signed the same statement and the change is the
    member's own; without it, the change is on the chair's authority (and flagged as such).
    Refusal when a signature does not verify, or the key was ever registered."""
    try:
        raw = unb64(public_key)
        key_id = key_id_of(raw)
    except ValueError:
        raise InvalidInput(
            "public_key", "is not an Ed25519 public key (32 bytes, base64url)"
        ) from None
    if key_id in registry.by_id:
        raise Refusal(
            Rule.KEY_REGISTERED,
            f"{key_id} was registered for {registry.by_id[key_id].member}: a key is registered "
            "once, and never again after it leaves force",
            key=key_id,
            member=registry.by_id[key_id].member,
        )
    statement = key_change(origin, member, "register", public_key)
    if not verify(public_key, statement, possession):
        raise Refusal(
            Rule.BAD_SIGNATURE,
            f"the registration of {key_id} for {member} is not signed by that key: its holder "
            "must sign it (proof of possession)",
            key=key_id,
            member=member,
        )
    current = registry.current(member)
    authority = KeyAuthority.CHAIR
    endorsed_by = None
    if endorsement is not None:
        if current is None:
            raise Refusal(
                Rule.BAD_SIGNATURE,
                f"{member} has no key in force to endorse a new one: a first key is registered "
                "on the chair's authority",
                member=member,
            )
        if not verify(current.public_key, statement, endorsement):
            raise Refusal(
                Rule.BAD_SIGNATURE,
                f"the endorsement of {key_id} is not signed by {member}'s key in force "
                f"({current.key_id})",
                key=key_id,
                member=member,
                current=current.key_id,
            )
        authority, endorsed_by = KeyAuthority.MEMBER, current.key_id
    return MemberKeyRegistered(
        **envelope,
        member=member,
        key_id=key_id,
        public_key=public_key,
        possession=possession,
        authority=authority,
        endorsed_by=endorsed_by,
        endorsement=endorsement,
    )


def revocation(
    registry: KeyRegistry,
    envelope: CouncilEnvelope,
    origin: str,
    member: str,
    verify: Verify,
    endorsement: str | None = None,
    reason: str = "",
) -> MemberKeyRevoked:
    """The event that takes `member`'s key out of force at the envelope's instant: the member's
    own act when the key signed it (`endorsement`), otherwise the chair's (flagged)."""
    current = registry.current(member)
    if current is None:
        raise Refusal(Rule.NO_KEY, f"{member} has no key in force", member=member)
    statement = key_change(origin, member, "revoke", current.public_key)
    authority = KeyAuthority.CHAIR
    if endorsement is not None:
        if not verify(current.public_key, statement, endorsement):
            raise Refusal(
                Rule.BAD_SIGNATURE,
                f"the revocation of {current.key_id} is not signed by that key",
                key=current.key_id,
                member=member,
            )
        authority = KeyAuthority.MEMBER
    return MemberKeyRevoked(
        **envelope,
        member=member,
        key_id=current.key_id,
        public_key=current.public_key,
        authority=authority,
        endorsement=endorsement,
        reason=reason,
    )


def answer_finding(
    registry: KeyRegistry,
    statement: AnswerStatement,
    signed: AnswerSignature,
    recorded_at: datetime,
    verify: Verify,
) -> str | None:
    """Why a signed answer recorded at `recorded_at` is not its member's word, or None when it
    is: the key must be the member's, in force when the answer was recorded, the claimed instant
    close to the recording, and the signature the key's over the statement."""
    period = registry.by_id.get(signed.key_id)
    if period is None:
        return f"{signed.key_id} is no registered key"
    if period.member != statement.member:
        return f"{signed.key_id} is {period.member}'s key, not {statement.member}'s"
    if not period.in_force_at(recorded_at):
        if recorded_at < period.since:
            return f"{signed.key_id} was not yet in force at {recorded_at.isoformat()}"
        return f"{signed.key_id} was {period.ended} before {recorded_at.isoformat()}"
    claimed = datetime.fromisoformat(signed.claimed_at)
    if claimed > recorded_at + CLAIM_SKEW or claimed < recorded_at - CLAIM_AGE:
        return (
            f"the answer claims {signed.claimed_at}, too far from its recording at "
            f"{recorded_at.isoformat()}"
        )
    if not verify(period.public_key, statement.signed_bytes(), signed.signature):
        return f"the signature is not {signed.key_id}'s over this answer"
    return None


def answer_to_sign(
    origin: str, command: MemberAnswer, key_id: str, command_key: str, claimed_at: str
) -> AnswerStatement:
    """The statement a member's key signs for `command`, given under `command_key` and said
    at `claimed_at`: what its event will record of it, and nothing the member did not say."""
    kind: str = type(command).model_fields["kind"].default
    declared = BY_KIND[kind].signed
    assert declared is not None, f"{kind} is not an answer a key signs"
    return AnswerStatement(
        origin=origin,
        decision_id=command.decision_id,
        kind=kind,
        member=command.actor,
        fields=signed_fields(declared.fields, command.model_dump(mode="json")),
        key_id=key_id,
        command_key=command_key,
        claimed_at=claimed_at,
    )


def signed_answer(origin: str, event: Event) -> tuple[AnswerStatement, AnswerSignature] | None:
    """The statement a recorded answer's signature is over, rebuilt from its event alone, with
    that signature; None when the event is no signed answer."""
    declared = SIGNED_BY_EVENT.get(event.type)
    signature = getattr(event, "signature", None)
    if declared is None or declared.signed is None or signature is None:
        return None
    fields = signed_fields(declared.signed.fields, event.model_dump(mode="json"))
    statement = answer_statement(
        origin, event.decision_id, declared.kind, event.actor, fields, signature
    )
    return statement, signature


def answered_on_behalf(event: Event, members: Collection[str]) -> bool:
    """Whether `event` is the answer of one of `members` that the secretariat recorded in the
    member's name without the member's signature: the member is told of it. (A body's report,
    which the secretariat records, is no member's answer.)"""
    return (
        event.actor in members
        and event.type in SIGNED_BY_EVENT
        and getattr(event, "signature", None) is None
        and principal_role(event.recorded_by) == "operator"
    )
