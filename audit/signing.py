"""Members' Ed25519 keys as files, and the one check of a signature every part of Concord uses.

A member's key file is JSON: `{"member": "RUS", "key_id": "ed25519:…", "private_key": "<the
32-byte seed, unpadded base64url>"}`, written readable by its owner alone (mode 0600) and never
over an existing file. The public key and the key id are derived from the seed when the file is
read; a file whose key id does not match its seed is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from domain.commands import MemberAnswer
from domain.errors import InvalidInput
from domain.keys import answer_to_sign
from domain.statements import AnswerSignature, b64, key_id_of, unb64
from store.key_files import write_secret

A = TypeVar("A", bound=MemberAnswer)


def verify(public_key: str, message: bytes, signature: str) -> bool:
    """Whether `signature` (unpadded base64url) is `public_key`'s over `message`; a key or a
    signature that is not well formed is simply not a valid signature."""
    try:
        raw_key, raw_signature = unb64(public_key), unb64(signature)
        if len(raw_key) != 32 or len(raw_signature) != 64:
            return False
        Ed25519PublicKey.from_public_bytes(raw_key).verify(raw_signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def json_object(path: Path, field: str, what: str) -> dict[str, Any]:
    """The JSON object a file holds; InvalidInput naming `field` and the file when it holds
    none (unreadable, not JSON, not an object)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInput(field, f"{path} is no {what}: {error}") from None
    if not isinstance(document, dict):
        raise InvalidInput(field, f"{path} is no {what}: it holds no JSON object")
    return document


@dataclass(frozen=True)
class MemberKey:
    """A member's private key, and what is derived from it."""

    member: str
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, member: str) -> MemberKey:
        return cls(member, Ed25519PrivateKey.generate())

    @property
    def public_key(self) -> str:
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return b64(raw)

    @property
    def key_id(self) -> str:
        return key_id_of(unb64(self.public_key))

    def sign(self, message: bytes) -> str:
        return b64(self.private.sign(message))

    def sign_answer(
        self, command: A, origin: str, command_key: str, at: datetime | None = None
    ) -> A:
        """`command` signed by this key for the log `origin`, to be given under `command_key`,
        said now (or `at`); InvalidInput when the command is not this key's member's."""
        if command.actor != self.member:
            raise InvalidInput(
                "sign_key", f"the key is {self.member}'s; it cannot sign for {command.actor}"
            )
        claimed_at = claimed(at or datetime.now(UTC))
        statement = answer_to_sign(origin, command, self.key_id, command_key, claimed_at)
        signature = AnswerSignature(
            key_id=self.key_id,
            claimed_at=claimed_at,
            command_key=command_key,
            signature=self.sign(statement.signed_bytes()),
        )
        return command.model_copy(update={"signature": signature})

    def document(self) -> dict[str, Any]:
        seed = self.private.private_bytes_raw()
        return {"member": self.member, "key_id": self.key_id, "private_key": b64(seed)}

    def save(self, path: Path) -> None:
        """Write the key to a new file, readable by its owner alone."""
        text = json.dumps(self.document(), indent=2) + "\n"
        write_secret(path, text, "output", "a key file is never overwritten")

    @classmethod
    def load(cls, path: Path) -> MemberKey:
        """The key in `path`; InvalidInput naming the file and what is wrong with it."""
        document = json_object(path, "sign_key", "key file")
        if not {"member", "key_id", "private_key"} <= set(document):
            raise InvalidInput("sign_key", f"{path} lacks member, key_id or private_key")
        try:
            seed = unb64(str(document["private_key"]))
            key = cls(str(document["member"]), Ed25519PrivateKey.from_private_bytes(seed))
        except ValueError:
            raise InvalidInput("sign_key", f"{path}: private_key is no Ed25519 key") from None
        if key.key_id != document["key_id"]:
            raise InvalidInput(
                "sign_key", f"{path}: key_id {document['key_id']} is not its key's ({key.key_id})"
            )
        return key


def claimed(at: datetime) -> str:
    """An instant as a signer writes it: UTC, `Z`, microseconds when it has any."""
    text = at.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"
