"""A witness (C2SP tlog-cosignature, Ed25519, `cosignature/v1`): checks a log's checkpoint
against the last one it cosigned — never backwards, never a fork, a consistency proof for
every step forward — and adds its cosignature, so a log cannot show different views to
different people without a witness catching it."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from audit import merkle, note
from audit.checkpoint import Checkpoint, ConsistencyProof, open_checkpoint, unb64
from domain.errors import AuditFailed

COSIGNATURE_V1: Final = b"\x04"
KEY_FILE: Final = "witness.key"


def cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class CosignerKey:
    """A witness's public key: name+id+base64(0x04 || key), as vkeys are written."""

    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        return note.key_id(self.name, self.public, COSIGNATURE_V1)

    def encode(self) -> str:
        return note.public_key_text(self.name, self.public, COSIGNATURE_V1)

    @classmethod
    def parse(cls, text: str) -> CosignerKey:
        return cls(*note.parsed_public_key(text, COSIGNATURE_V1, "witness-key", "a witness key"))

    def timestamp_of(self, text: str, signature: note.Signature) -> int | None:
        """When this witness cosigned `text`, if `signature` is its valid cosignature."""
        if signature.name != self.name or signature.id != self.id:
            return None
        if len(signature.signature) != 72:
            return None
        timestamp = int.from_bytes(signature.signature[:8], "big")
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(
                signature.signature[8:], cosigned_message(text, timestamp)
            )
        except InvalidSignature:
            return None
        return timestamp


@dataclass(frozen=True)
class Witness:
    name: str
    seed: bytes

    @property
    def key(self) -> CosignerKey:
        return CosignerKey(self.name, note.public_of(self.seed))

    def cosignature(self, text: str, timestamp: int) -> note.Signature:
        signature = Ed25519PrivateKey.from_private_bytes(self.seed).sign(
            cosigned_message(text, timestamp)
        )
        return note.Signature(self.name, self.key.id, timestamp.to_bytes(8, "big") + signature)

    @classmethod
    def in_state(cls, state: Path, name: str) -> Witness:
        """The witness kept in `state` (made there, mode 0600, on first use)."""
        path = state / KEY_FILE
        if path.exists():
            kind = f"the witness key in {path}"
            return cls(*note.parsed_private_key(path.read_text(), COSIGNATURE_V1, "state", kind))
        state.mkdir(parents=True, exist_ok=True)
        seed = Ed25519PrivateKey.generate().private_bytes(
            Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        )
        witness = cls(name, seed)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(note.private_key_text(name, seed, COSIGNATURE_V1) + "\n")
        return witness


def _last_file(state: Path, origin: str) -> Path:
    return state / (hashlib.sha256(origin.encode()).hexdigest()[:16] + ".checkpoint")


def witness(
    state: Path,
    name: str,
    log_key: note.Verifier,
    signed: str,
    proof: ConsistencyProof | None,
    now: int,
) -> str:
    """Cosign `signed` if it extends what this witness last cosigned for its origin; the
    checkpoint with every signature it had and this witness's cosignature. AuditFailed for a
    rollback (smaller than before), a fork (another root at a size seen, or no consistency
    with the last one), or a checkpoint the log's key did not sign."""
    checkpoint = open_checkpoint(signed, log_key)
    text, signatures = note.split(signed)
    last_path = _last_file(state, checkpoint.origin)
    if last_path.exists():
        last = open_checkpoint(last_path.read_text(), log_key, checkpoint.origin)
        _extends(last, checkpoint, proof)
    me = Witness.in_state(state, name)
    kept = [s for s in signatures if not (s.name == me.name and s.id == me.key.id)]
    cosigned = text + "\n" + "".join(s.line() for s in [*kept, me.cosignature(text, now)])
    temporary = last_path.with_suffix(".tmp")
    temporary.write_text(signed)
    temporary.replace(last_path)
    return cosigned


def _extends(last: Checkpoint, new: Checkpoint, proof: ConsistencyProof | None) -> None:
    if new.size < last.size:
        raise AuditFailed(
            f"rollback: the checkpoint has {new.size} entries, the witness cosigned {last.size}"
        )
    if new.size == last.size:
        if new.root != last.root:
            raise AuditFailed(f"fork: another root for the tree of {new.size} cosigned before")
        return
    if proof is None:
        raise AuditFailed(
            f"no consistency proof from the tree of {last.size} cosigned before to {new.size}"
        )
    hashes = unb64(proof.proof, "proof")
    if not merkle.verify_consistency(last.size, new.size, last.root, new.root, hashes):
        raise AuditFailed(
            f"fork: the tree of {new.size} does not extend the tree of {last.size} cosigned before"
        )
