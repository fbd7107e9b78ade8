"""The council's key registry as the log holds it: its own stream (`council.keys`), read, folded
and added to by the rules of domain.keys, every signature checked with audit.signing.

A member's side of a key change is a **request** file: what the member signed with its own keys,
made where its keys are (`concord keys generate`), carried to the secretariat, who records it
(`concord keys register`). The request holds no secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from audit.chain_check import BreakReason, LogBreak
from audit.signing import MemberKey, json_object, verify
from domain.commands import MemberAnswer
from domain.council import KEYS_STREAM
from domain.council_events import CouncilEnvelope, MemberKeyRegistered, MemberKeyRevoked
from domain.errors import Conflict, InvalidHistory, InvalidInput, Refusal, Rule
from domain.keys import KeyRegistry, answer_finding, answer_to_sign, registration, revocation
from domain.roster import CHAIR
from domain.statements import key_change
from store.council_events import council_event, new_council_event
from store.councils import Councils
from store.eventstore import EventStore
from store.records import StoredEvent


@dataclass(frozen=True)
class KeyRequest:
    """A member's request to put a key in force: the new key's proof of possession and, for a
    rotation, the endorsement of the key it replaces, both over the change's statement."""

    origin: str
    member: str
    key_id: str
    public_key: str
    possession: str
    endorsement: str | None = None

    @classmethod
    def made(cls, origin: str, key: MemberKey, replacing: MemberKey | None = None) -> KeyRequest:
        """The request for `key`, endorsed by `replacing` (the member's key in force) if given."""
        if replacing is not None and replacing.member != key.member:
            raise InvalidInput(
                "replacing", f"{replacing.key_id} is {replacing.member}'s key, not {key.member}'s"
            )
        statement = key_change(origin, key.member, "register", key.public_key)
        return cls(
            origin=origin,
            member=key.member,
            key_id=key.key_id,
            public_key=key.public_key,
            possession=key.sign(statement),
            endorsement=replacing.sign(statement) if replacing else None,
        )

    def document(self) -> dict[str, Any]:
        return {name: value for name, value in self.__dict__.items() if value is not None}

    @classmethod
    def load(cls, path: Path) -> KeyRequest:
        document = json_object(path, "request", "key request")
        fields = {"origin", "member", "key_id", "public_key", "possession", "endorsement"}
        if not set(document) <= fields:
            raise InvalidInput("request", f"{path} holds fields other than {sorted(fields)}")
        try:
            return cls(**{name: str(value) for name, value in document.items()})
        except TypeError:
            required = sorted(fields - {"endorsement"})
            raise InvalidInput("request", f"{path} lacks one of {required}") from None


def revocation_signature(origin: str, key: MemberKey) -> str:
    """The key's own signature over its revocation (the member's act, not the chair's)."""
    return key.sign(key_change(origin, key.member, "revoke", key.public_key))


class KeyBook:
    """The registry of members' keys in an event store."""

    def __init__(self, store: EventStore, origin: str) -> None:
        self._store = store
        self._origin = origin

    async def registry(self) -> KeyRegistry:
        registry, _ = await self._read()
        return registry

    async def check_answer(self, command: MemberAnswer) -> None:
        """Refusal (bad_signature) unless a signed answer's signature is its member's, by the
        key in force now, over the answer as given for this log; an unsigned one passes."""
        signed = command.signature
        if signed is None:
            return
        statement = answer_to_sign(
            self._origin, command, signed.key_id, signed.command_key, signed.claimed_at
        )
        at = datetime.now(UTC)
        finding = answer_finding(await self.registry(), statement, signed, at, verify)
        if finding is not None:
            raise Refusal(
                Rule.BAD_SIGNATURE,
                f"{command.actor}'s signed {statement.kind} is refused: {finding}",
                member=command.actor,
                kind=statement.kind,
            )

    async def _read(self) -> tuple[KeyRegistry, int]:
        stored = await self._store.stream(KEYS_STREAM)
        events = [council_event(e) for e in stored]
        return KeyRegistry.folded(events), len(stored)

    async def register(self, request: KeyRequest, recorded_by: str) -> StoredEvent:
        """Record the request's key in force for its member, now: the member's own change when
        its key in force endorsed it, otherwise on the chair's authority."""
        if request.origin != self._origin:
            raise Refusal(
                Rule.BAD_SIGNATURE,
                f"the request was signed for the log {request.origin!r}, not this one "
                f"({self._origin!r})",
                member=request.member,
                origin=request.origin,
            )
        await self._is_member(request.member)
        registry, version = await self._read()
        event = registration(
            registry,
            self._envelope(version, recorded_by, request.member if request.endorsement else CHAIR),
            self._origin,
            request.member,
            request.public_key,
            request.possession,
            verify,
            endorsement=request.endorsement,
        )
        if event.key_id != request.key_id:
            raise InvalidInput(
                "key_id", f"{request.key_id} is not the request's key's id ({event.key_id})"
            )
        return await self._append(version, event)

    async def revoke(
        self, member: str, recorded_by: str, endorsement: str | None = None, reason: str = ""
    ) -> StoredEvent:
        """Take `member`'s key out of force, now: the member's act when the key signed it."""
        registry, version = await self._read()
        event = revocation(
            registry,
            self._envelope(version, recorded_by, member if endorsement else CHAIR),
            self._origin,
            member,
            verify,
            endorsement=endorsement,
            reason=reason,
        )
        return await self._append(version, event)

    async def _is_member(self, member: str) -> None:
        council = await Councils(self._store).in_force()
        if member not in {m.code for m in council.members}:
            raise Refusal(
                Rule.NOT_ON_ROSTER,
                f"{member} is not a member of {council.code}",
                member=member,
                council=council.code,
            )

    def _envelope(self, version: int, recorded_by: str, actor: str) -> CouncilEnvelope:
        """The next change's envelope: the member's act when its key signed it, else the
        chair's."""
        return {
            "stream_id": KEYS_STREAM,
            "stream_version": version + 1,
            "occurred_at": datetime.now(UTC),
            "actor": actor,
            "recorded_by": recorded_by,
        }

    async def _append(
        self, version: int, event: MemberKeyRegistered | MemberKeyRevoked
    ) -> StoredEvent:
        try:
            [stored] = await self._store.append(KEYS_STREAM, version, [new_council_event(event)])
        except Conflict:
            raise Refusal(
                Rule.COUNCIL_CHANGE,
                "the key registry changed meanwhile: try again",
                member=event.member,
            ) from None
        return stored


def registry_break(stored: list[StoredEvent], origin: str) -> LogBreak | None:
    """The first change of the key registry's stream the registry's rules could not have
    recorded for the log `origin`, with its position; None when every one holds. Each change is
    decided again by domain.keys from what it carries and the registry before it, so a change
    written into the store without its keys (a forged endorsement or proof of possession, an
    authority it was not given) is found however well its row is chained."""
    registry = KeyRegistry()
    for record in stored:
        try:
            event = council_event(record)
        except InvalidHistory as error:
            return LogBreak(
                position=record.position, reason=BreakReason.INVALID_KEY_CHANGE, message=str(error)
            )
        if not isinstance(event, MemberKeyRegistered | MemberKeyRevoked):
            return LogBreak(
                position=record.position,
                reason=BreakReason.INVALID_KEY_CHANGE,
                message=f"{KEYS_STREAM} v{record.stream_version} is a {event.type}",
            )
        finding = _decided_again(registry, event, origin)
        if finding is not None:
            return LogBreak(
                position=record.position,
                reason=BreakReason.BAD_SIGNATURE,
                message=f"{KEYS_STREAM} v{record.stream_version} ({event.member}, "
                f"{event.key_id}): {finding}",
            )
        try:
            registry.evolve(event)
        except InvalidHistory as error:
            return LogBreak(
                position=record.position, reason=BreakReason.INVALID_KEY_CHANGE, message=str(error)
            )
    return None


def _decided_again(
    registry: KeyRegistry, event: MemberKeyRegistered | MemberKeyRevoked, origin: str
) -> str | None:
    """Why the rules would not have recorded `event` as it is, or None."""
    envelope: CouncilEnvelope = {
        "stream_id": event.stream_id,
        "stream_version": event.stream_version,
        "occurred_at": event.occurred_at,
        "actor": event.actor,
        "recorded_by": event.recorded_by,
    }
    try:
        if isinstance(event, MemberKeyRegistered):
            decided: MemberKeyRegistered | MemberKeyRevoked = registration(
                registry,
                envelope,
                origin,
                event.member,
                event.public_key,
                event.possession,
                verify,
                endorsement=event.endorsement,
            )
        else:
            decided = revocation(
                registry,
                envelope,
                origin,
                event.member,
                verify,
                endorsement=event.endorsement,
                reason=event.reason,
            )
    except (Refusal, InvalidInput) as refused:
        return str(refused)
    if decided != event:
        differ = sorted(
            name
            for name in type(event).model_fields
            if getattr(decided, name) != getattr(event, name)
        )
        return f"its {', '.join(differ)} are not what its signatures give it"
    return None
