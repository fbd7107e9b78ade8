"""What a member signs: the statements its key is held to, byte for byte.

A member's answer (a concurrence, an objection, a report…) is signed by the member's own Ed25519
key over a small document: its **statement**. The bytes signed are the statement's canonical
JSON (RFC 8785: keys sorted, no whitespace, strings as ECMAScript writes them), so that anyone
holding the council's key registry rebuilds them from the log alone, in any language, and checks
the signature offline. Two statements exist, each named and versioned by its `statement` field:

- `concord-answer/v1`: a member's answer. The council's log origin, the decision, the command's
  kind, the member, the command's own fields that its event records (`signed` in the command's
  declaration: its round and the text hash the member read, its reasons…), the key that signs
  it, the caller's idempotency key and the instant the member claims.
- `concord-key/v1`: a key put in force for a member (its holder's proof of possession, and the
  endorsement of the key it replaces) or taken out of force. It names no instant: a change takes
  effect when it is recorded (domain.keys), so a signed change cannot be dated back.

Nothing here signs or verifies (the domain imports no cryptography): the adapters and the
auditor's checks do, over these bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import StringConstraints

from domain.values import ActorCode, Checked, DecisionId, Frozen

ANSWER_STATEMENT: Final = "concord-answer/v1"
KEY_STATEMENT: Final = "concord-key/v1"

KeyId = Annotated[str, StringConstraints(pattern=r"^ed25519:[0-9a-f]{16}$")]
"""A key's id: `ed25519:` and the first 16 hex digits of SHA-256 of `concord-key\\n` and the
key's 32 bytes (`key_id_of`). Derived, never chosen: no two keys share one."""
PublicKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{43}$")]
"""An Ed25519 public key: its 32 bytes in unpadded base64url."""
SignatureText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{86}$")]
"""An Ed25519 signature: its 64 bytes in unpadded base64url."""
ClaimedInstant = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
]
"""An instant as the signer wrote it, in UTC (`2004-12-09T10:00:00Z`): kept as text, so that the
bytes the verifier rebuilds are the bytes that were signed."""
CommandKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
"""The caller's idempotency key of the command the statement answers for."""
Origin = Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,200}$")]
"""The council's log origin (its checkpoints' first line): a statement for one council's log is
not one for another's."""

MAX_SAFE_INTEGER: Final = 2**53 - 1


def b64(data: bytes) -> str:
    """Bytes as unpadded base64url, the form keys and signatures take in statements and events."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    """The bytes of unpadded base64url text."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id_of(public_key: bytes) -> str:
    """The id of an Ed25519 public key (its 32 bytes)."""
    if len(public_key) != 32:
        raise ValueError(f"an Ed25519 public key has 32 bytes, not {len(public_key)}")
    return "ed25519:" + hashlib.sha256(b"concord-key\n" + public_key).hexdigest()[:16]


def canonical(document: dict[str, Any]) -> bytes:
    """The RFC 8785 canonical JSON of a statement: objects of ASCII keys, text, safe integers
    and booleans only (what statements hold), for which sorting keys and writing without
    whitespace or ASCII escapes is the whole canonical form."""
    _check(document, "statement")
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _check(value: Any, path: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key.isascii():
                raise ValueError(f"{path}: keys must be ASCII text, not {key!r}")
            _check(item, f"{path}.{key}")
    elif isinstance(value, bool | str):
        if isinstance(value, str):
            value.encode("utf-8")  # a lone surrogate is no text to sign
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{path}: {value} is outside +/-(2**53 - 1)")
    else:
        raise ValueError(f"{path}: a statement holds text, integers and objects, not {value!r}")


class AnswerSignature(Frozen):
    """A member's signature on an answer, as its command carries it and its event records it:
    with the event's own fields it rebuilds the statement that was signed (`answer_statement`).
    A field of the command or event, so its errors are theirs (named `signature.<field>`)."""

    key_id: KeyId
    claimed_at: ClaimedInstant
    command_key: CommandKey
    signature: SignatureText


class AnswerStatement(Checked):
    """A member's answer, as its key signs it."""

    statement: Literal["concord-answer/v1"] = ANSWER_STATEMENT
    origin: Origin
    decision_id: DecisionId
    kind: str
    member: ActorCode
    fields: dict[str, str | int]
    """The command's own fields its event records (its declaration's `signed`), by name."""
    key_id: KeyId
    command_key: CommandKey
    claimed_at: ClaimedInstant

    def signed_bytes(self) -> bytes:
        return canonical(self.model_dump(mode="json"))


def answer_key(member: str, command_key: str) -> str:
    """The idempotency key a signed answer is given under: the member's command key in the
    member's own scope (as the API scopes a member's keys), whoever carries the answer, so that
    one signed answer is recorded once."""
    return f"member:{member}/{command_key}"


def signed_fields(names: tuple[str, ...], values: Mapping[str, Any]) -> dict[str, str | int]:
    """The fields `names` of an answer (its command's or its event's, as JSON values) that its
    statement holds: those with a value, by name."""
    return {name: values[name] for name in names if values.get(name) is not None}


def answer_statement(
    origin: str,
    decision_id: str,
    kind: str,
    member: str,
    fields: dict[str, str | int],
    signed: AnswerSignature,
) -> AnswerStatement:
    """The statement a recorded answer's signature is over."""
    return AnswerStatement(
        origin=origin,
        decision_id=decision_id,
        kind=kind,
        member=member,
        fields=fields,
        key_id=signed.key_id,
        command_key=signed.command_key,
        claimed_at=signed.claimed_at,
    )


class KeyStatement(Checked):
    """A key put in force for a member, or taken out of force, as keys sign it: the new key
    signs its registration (proof of possession); the key in force signs a change it endorses
    (a rotation or a revocation by its holder)."""

    statement: Literal["concord-key/v1"] = KEY_STATEMENT
    origin: Origin
    member: ActorCode
    change: Literal["register", "revoke"]
    key_id: KeyId
    public_key: PublicKey

    def signed_bytes(self) -> bytes:
        return canonical(self.model_dump(mode="json"))


def key_change(origin: str, member: str, change: Literal["register", "revoke"], key: str) -> bytes:
    """The bytes signed for putting the public key `key` in force for `member`, or taking it
    out of force: its KeyStatement, the key's id derived from the key."""
    return KeyStatement(
        origin=origin, member=member, change=change, key_id=key_id_of(unb64(key)), public_key=key
    ).signed_bytes()
