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


def key_id(name: str, public: bytes, algorithm: bytes = ED25519) -> bytes:
    """The first 4 bytes of SHA-256(name || "\\n" || algorithm || public key)."""
    return hashlib.sha256(name.encode() + b"\n" + algorithm + public).digest()[:4]


def public_of(seed: bytes) -> bytes:
    """The Ed25519 public key of a private key's seed."""
    private = Ed25519PrivateKey.from_private_bytes(seed)
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_text(name: str, public: bytes, algorithm: bytes = ED25519) -> str:
    """`<name>+<id hex>+<base64(algorithm || key)>`: a verifier key as Go's note writes it."""
    encoded = base64.b64encode(algorithm + public).decode()
    return f"{name}+{key_id(name, public, algorithm).hex()}+{encoded}"


def private_key_text(name: str, seed: bytes, algorithm: bytes = ED25519) -> str:
    """`PRIVATE+KEY+<name>+<id hex>+<base64(algorithm || seed)>`: a signer key."""
    encoded = base64.b64encode(algorithm + seed).decode()
    return f"PRIVATE+KEY+{name}+{key_id(name, public_of(seed), algorithm).hex()}+{encoded}"


def parsed_public_key(
    text: str, algorithm: bytes = ED25519, field: str = "key", kind: str = "a verifier key"
) -> tuple[str, bytes]:
    """(name, public key) of a key written by `public_key_text`; InvalidInput naming `field`
    for anything else, or for an id that does not match the name and key."""
    parts = text.strip().split("+", 2)  # the base64 key may hold '+' itself
    if len(parts) != 3:
        raise InvalidInput(field, f"{kind} reads <name>+<id>+<base64 key>")
    name, hex_id, encoded = parts
    public = _key_bytes(encoded, algorithm, field, kind)
    if key_id(_check_name(name, field), public, algorithm).hex() != hex_id:
        raise InvalidInput(field, "its id does not match its name and key")
    return name, public


def parsed_private_key(
    text: str, algorithm: bytes = ED25519, field: str = "key", kind: str = "a signer key"
) -> tuple[str, bytes]:
    """(name, seed) of a key written by `private_key_text`; InvalidInput naming `field` for
    anything else, or for an id that does not match the name and key."""
    parts = text.strip().split("+", 4)
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise InvalidInput(field, f"{kind} reads PRIVATE+KEY+<name>+<id>+<base64 key>")
    name, hex_id, encoded = parts[2:]
    seed = _key_bytes(encoded, algorithm, field, kind)
    if key_id(_check_name(name, field), public_of(seed), algorithm).hex() != hex_id:
        raise InvalidInput(field, "its id does not match its name and key")
    return name, seed


def _key_bytes(encoded: str, algorithm: bytes, field: str, kind: str) -> bytes:
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise InvalidInput(field, "its key part is not base64") from None
    if len(raw) != 33 or raw[:1] != algorithm:
        raise InvalidInput(field, f"{kind} holds no Ed25519 key of type 0x{algorithm.hex()}")
    return raw[1:]


def _check_name(name: str, field: str = "name") -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        raise InvalidInput(field, "a key name has no spaces, no '+' and no control characters")
    return name


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public)

    def encode(self) -> str:
        return public_key_text(self.name, self.public)

    @classmethod
    def parse(cls, text: str) -> Verifier:
        return cls(*parsed_public_key(text))

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
        return Verifier(self.name, public_of(self.seed))

    def encode(self) -> str:
        return private_key_text(self.name, self.seed)

    @classmethod
    def parse(cls, text: str) -> Signer:
        return cls(*parsed_private_key(text))

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
