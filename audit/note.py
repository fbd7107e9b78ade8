"""Signed notes (C2SP signed-note, the format of Go's golang.org/x/mod/sumdb/note) with
Ed25519 keys: what a checkpoint is, and what an outside tool verifies with the public key alone.

A note is UTF-8 text ending in a newline; each signature is a line `— <name> <base64(key id ||
signature)>` after a blank line. A key's id is the first 4 bytes of SHA-256(name || "\\n" ||
0x01 || public key); the verifier key reads `<name>+<id hex>+<base64(0x01 || public key)>`, the
signer key `PRIVATE+KEY+<name>+<id hex>+<base64(0x01 || seed)>`.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from domain.errors import InvalidInput

ED25519: Final = b"\x01"
DASH: Final = "\u2014 "


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def _check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        raise InvalidInput("name", "a key name has no spaces, no '+' and no control characters")
    return name


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public)

    def encode(self) -> str:
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(ED25519 + self.public).decode()}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)  # the base64 key may hold '+' itself
        if len(parts) != 3:
            raise InvalidInput("key", "a verifier key reads <name>+<id>+<base64 key>")
        name, hex_id, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise InvalidInput("key", "its key part is not base64") from None
        if len(raw) != 33 or raw[:1] != ED25519:
            raise InvalidInput("key", "not an Ed25519 verifier key")
        verifier = cls(_check_name(name), raw[1:])
        if verifier.id.hex() != hex_id:
            raise InvalidInput("key", "its id does not match its name and key")
        return verifier

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> Signer:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        key = Ed25519PrivateKey.generate()
        seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(_check_name(name), seed)

    @property
    def verifier(self) -> Verifier:
        key = Ed25519PrivateKey.from_private_bytes(self.seed)
        return Verifier(self.name, key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    def encode(self) -> str:
        encoded = base64.b64encode(ED25519 + self.seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+{encoded}"

    @classmethod
    def parse(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise InvalidInput("key", "a signer key reads PRIVATE+KEY+<name>+<id>+<base64 key>")
        try:
            raw = base64.b64decode(parts[4], validate=True)
        except ValueError:
            raise InvalidInput("key", "its key part is not base64") from None
        if len(raw) != 33 or raw[:1] != ED25519:
            raise InvalidInput("key", "not an Ed25519 signer key")
        signer = cls(_check_name(parts[2]), raw[1:])
        if signer.verifier.id.hex() != parts[3]:
            raise InvalidInput("key", "its id does not match its name and key")
        return signer

    def sign_bytes(self, message: bytes) -> bytes:
        """A bare Ed25519 signature of `message` (for records the log's key vouches for)."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)

    def sign(self, text: str) -> str:
        """The signed note of `text` (which ends with a newline)."""
        body = _checked_text(text)
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(body.encode())
        line = base64.b64encode(self.verifier.id + signature).decode()
        return f"{body}\n{DASH}{self.name} {line}\n"


def _checked_text(text: str) -> str:
    if not text.endswith("\n") or any(ord(c) < 0x20 and c != "\n" for c in text):
        raise InvalidInput(
            "note", "a note's text ends with a newline and has no control characters"
        )
    return text


@dataclass(frozen=True)
class Signature:
    name: str
    id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{DASH}{self.name} {base64.b64encode(self.id + self.signature).decode()}\n"


def split(note: str) -> tuple[str, list[Signature]]:
    """The text of a signed note and its signatures; InvalidInput when it is not one."""
    text, separator, block = note.rpartition("\n\n")
    if not separator or not block.endswith("\n"):
        raise InvalidInput("note", "a signed note is its text, a blank line, and signature lines")
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith(DASH):
            raise InvalidInput("note", f"not a signature line: {line[:80]!r}")
        name, _, encoded = line[len(DASH) :].rpartition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise InvalidInput("note", "a signature is not base64") from None
        if len(raw) < 5:
            raise InvalidInput("note", "a signature is too short")
        signatures.append(Signature(name, raw[:4], raw[4:]))
    return _checked_text(text + "\n"), signatures


def open_note(note: str, verifier: Verifier) -> tuple[str, list[Signature]]:
    """The note's text, once `verifier`'s signature on it checks; InvalidInput otherwise.
    Returns the signatures too (other keys' cosignatures among them)."""
    text, signatures = split(note)
    mine = [s for s in signatures if s.name == verifier.name and s.id == verifier.id]
    if not mine or not any(verifier.verify(text.encode(), s.signature) for s in mine):
        raise InvalidInput("note", f"not signed by {verifier.name} with the key given")
    return text, signatures
