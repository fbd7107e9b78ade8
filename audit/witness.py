"""A witness (C2SP tlog-cosignature, Ed25519, `cosignature/v1`): checks a log's checkpoint
against the last one it cosigned — never backwards, never a fork, a consistency proof for
every step forward — and adds its cosignature, so a log cannot show different views to
different people without a witness catching it."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
from domain.errors import AuditFailed, InvalidInput

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


class WitnessRefusal(Exception):
    """A witness's refusal to cosign, with the C2SP tlog-witness status that says why: 400 a
    malformed request, 403 no signature of the log's key, 404 a log it does not witness, 409 an
    old size that is not the size it last cosigned (`size` says which) or another root at that
    size (`size` None), 422 a consistency proof that does not hold."""

    def __init__(self, status: int, message: str, size: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.size = size


MAX_PROOF: Final = 63
"""The most consistency proof lines a request may carry (C2SP tlog-witness)."""


@dataclass(frozen=True)
class Submission:
    """An add-checkpoint request: the size the client believes the witness last cosigned, a
    consistency proof from it, and the signed checkpoint."""

    old_size: int
    proof: tuple[bytes, ...]
    signed: str

    def body(self) -> bytes:
        lines = [f"old {self.old_size}", *(base64.b64encode(h).decode() for h in self.proof)]
        return ("".join(f"{line}\n" for line in lines) + "\n" + self.signed).encode()

    @classmethod
    def parse(cls, body: bytes) -> Submission:
        """The request in `body`; WitnessRefusal 400 for anything the spec does not allow."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WitnessRefusal(400, "the request is not UTF-8 text") from None
        head, separator, signed = text.partition("\n\n")
        lines = head.split("\n")
        if not separator or not lines[0].startswith("old "):
            raise WitnessRefusal(400, "the request opens with `old <size>`, then a blank line")
        size = lines[0][4:]
        if not size.isdigit() or not size.isascii() or (size != "0" and size.startswith("0")):
            raise WitnessRefusal(400, "the old size is a decimal without leading zeros")
        if len(lines) - 1 > MAX_PROOF:
            raise WitnessRefusal(400, f"more than {MAX_PROOF} consistency proof lines")
        proof = []
        for line in lines[1:]:
            try:
                hashed = base64.b64decode(line, validate=True)
            except ValueError:
                raise WitnessRefusal(400, "a consistency proof line is not base64") from None
            if len(hashed) != 32:
                raise WitnessRefusal(400, "a consistency proof line is not a 32-byte hash")
            proof.append(hashed)
        return cls(int(size), tuple(proof), signed)


class WitnessService:
    """A witness of the logs whose keys it is given (by origin, the key's name): for each, the
    checkpoint it last cosigned is kept in `state`, and a new one is cosigned only if it extends
    that one (C2SP tlog-witness `add-checkpoint`). Checking the old size and keeping the new
    checkpoint happen under one lock, across threads and processes sharing the state."""

    def __init__(self, state: Path, name: str, logs: Iterable[note.Verifier]) -> None:
        self._state = state
        self._me = Witness.in_state(state, name)
        self._logs = {key.name: key for key in logs}
        self._lock = threading.Lock()

    @property
    def key(self) -> CosignerKey:
        return self._me.key

    def latest(self, origin: str) -> Checkpoint | None:
        """The checkpoint last cosigned for `origin`; None before the first."""
        path = _last_file(self._state, origin)
        if not path.exists():
            return None
        return open_checkpoint(path.read_text(), self._logs[origin], origin)

    def add_checkpoint(self, submission: Submission, now: int) -> list[note.Signature]:
        """This witness's cosignature of the submitted checkpoint, once it is shown to extend
        the one last cosigned for its log; WitnessRefusal otherwise, and nothing is kept."""
        try:
            text, signatures = note.split(submission.signed)
            checkpoint = Checkpoint.parse(text)
        except InvalidInput as error:
            raise WitnessRefusal(400, f"not a signed checkpoint: {error.message}") from None
        verifier = self._logs.get(checkpoint.origin)
        if verifier is None:
            raise WitnessRefusal(404, f"this witness does not witness {checkpoint.origin}")
        mine = [s for s in signatures if (s.name, s.id) == (verifier.name, verifier.id)]
        if not any(verifier.verify(text.encode(), s.signature) for s in mine):
            raise WitnessRefusal(403, f"the checkpoint is not signed by {verifier.name}'s key")
        if submission.old_size > checkpoint.size:
            raise WitnessRefusal(
                400,
                f"the old size {submission.old_size} is larger than the checkpoint's "
                f"{checkpoint.size}",
            )
        with self._lock, _file_lock(self._state / "lock"):
            last = self.latest(checkpoint.origin)
            _extends(last, checkpoint, submission)
            path = _last_file(self._state, checkpoint.origin)
            temporary = path.with_suffix(".tmp")
            temporary.write_text(submission.signed)
            os.replace(temporary, path)
        return [self._me.cosignature(text, now)]


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(file, fcntl.LOCK_UN)


def _last_file(state: Path, origin: str) -> Path:
    return state / (hashlib.sha256(origin.encode()).hexdigest()[:16] + ".checkpoint")


def _extends(last: Checkpoint | None, new: Checkpoint, submission: Submission) -> None:
    last_size = 0 if last is None else last.size
    if submission.old_size != last_size:
        raise WitnessRefusal(
            409,
            f"the witness last cosigned the tree of {last_size}, not {submission.old_size}",
            last_size,
        )
    if last is not None and new.size == last.size:
        if submission.proof:
            raise WitnessRefusal(400, "a consistency proof between equal sizes is empty")
        if new.root != last.root:
            raise WitnessRefusal(
                409, f"fork: another root for the tree of {new.size} cosigned before"
            )
        return
    if last is None:
        if submission.proof:
            raise WitnessRefusal(400, "a consistency proof from the old size 0 is empty")
        return
    if not merkle.verify_consistency(
        last.size, new.size, last.root, new.root, list(submission.proof)
    ):
        raise WitnessRefusal(
            422,
            f"fork: the tree of {new.size} is not proved to extend the tree of {last.size} "
            "cosigned before",
        )


def witness(
    state: Path,
    name: str,
    log_key: note.Verifier,
    signed: str,
    proof: ConsistencyProof | None,
    now: int,
) -> str:
    """Cosign `signed` by hand if it extends what this witness last cosigned for its origin;
    the checkpoint with every signature it had and this witness's cosignature. AuditFailed for a
    rollback (smaller than before), a fork (another root at a size seen, or no consistency with
    the last one), or a checkpoint the log's key did not sign (InvalidInput)."""
    checkpoint = open_checkpoint(signed, log_key)
    service = WitnessService(state, name, [log_key])
    last = service.latest(checkpoint.origin) if checkpoint.origin == log_key.name else None
    if last is not None and checkpoint.size < last.size:
        raise AuditFailed(
            f"rollback: the checkpoint has {checkpoint.size} entries, the witness cosigned "
            f"{last.size}"
        )
    if last is not None and checkpoint.size > last.size and proof is None:
        raise AuditFailed(
            f"no consistency proof from the tree of {last.size} cosigned before to "
            f"{checkpoint.size}"
        )
    hashes = tuple(unb64(proof.proof, "proof")) if proof is not None else ()
    submission = Submission(0 if last is None else last.size, hashes, signed)
    try:
        cosignatures = service.add_checkpoint(submission, now)
    except WitnessRefusal as refusal:
        if refusal.status in (400, 404):
            raise InvalidInput("checkpoint", refusal.message) from None
        raise AuditFailed(refusal.message) from None
    text, signatures = note.split(signed)
    me = service.key
    kept = [s for s in signatures if not (s.name == me.name and s.id == me.id)]
    return text + "\n" + "".join(s.line() for s in [*kept, *cosignatures])
