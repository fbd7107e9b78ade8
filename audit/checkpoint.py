"""Checkpoints (C2SP tlog-checkpoint): the log's origin, its tree size and root hash, signed as
a note with the installation's Ed25519 key; and proof files an outside auditor checks with the
public key alone."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from audit import merkle, note
from domain.errors import AuditFailed, InvalidHistory, InvalidInput, NotFound

if TYPE_CHECKING:  # checking a proof file needs neither the store nor its tree
    from audit.tree import StoredTree
    from store.eventstore import EventStore


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise InvalidInput("checkpoint", "origin, size and root hash, each on its own line")
        origin, size, root, *extensions = lines[:-1]
        if not origin or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise InvalidInput("checkpoint", "its origin is empty or its size not a number")
        try:
            decoded = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise InvalidInput("checkpoint", "its root hash is not base64") from None
        if len(decoded) != 32:
            raise InvalidInput("checkpoint", "its root hash is not 32 bytes")
        return cls(origin, int(size), decoded, tuple(extensions))


def check_origin(origin: str) -> str:
    if not origin or "://" in origin or any(c.isspace() for c in origin):
        raise InvalidInput("CONCORD_LOG_ORIGIN", "a schema-less name like example.org/concord")
    return origin


def open_checkpoint(signed: str, verifier: note.Verifier, origin: str | None = None) -> Checkpoint:
    """The checkpoint a signed note holds, once its signature checks (and its origin, if given)."""
    text, _ = note.open_note(signed, verifier)
    checkpoint = Checkpoint.parse(text)
    if origin is not None and checkpoint.origin != origin:
        raise InvalidInput("checkpoint", f"its origin is {checkpoint.origin}, not {origin}")
    return checkpoint


async def checked(
    store: EventStore, tree: StoredTree, origin: str, verifier: note.Verifier
) -> Checkpoint:
    """The checkpoint of the stored tree as it stands (not signed), its root established as the
    signer establishes it (`checked_head_root`); InvalidHistory when the log was changed."""
    size = await tree.size()
    return Checkpoint(check_origin(origin), size, await checked_head_root(store, size, verifier))


async def checked_head_root(store: EventStore, size: int, verifier: note.Verifier) -> bytes:
    """The root of the log's first `size` leaves as the signer may sign it: recomputed from the
    entries appended since the latest checkpoint kept, that checkpoint's signature checked with
    `verifier` and the tree shown to extend it (audit.tree.checked_root); InvalidHistory
    naming what differs otherwise."""
    from audit.tree import checked_root

    latest = await store.checkpoints.latest()
    if latest is None:
        return await checked_root(store, size, 0, merkle.EMPTY_ROOT)
    try:
        anchor = open_checkpoint(latest.signed, verifier)
    except InvalidInput as error:
        raise InvalidHistory(
            f"the kept checkpoint #{latest.position} is not one this log's key signed "
            f"({error.message}): the kept checkpoints were changed"
        ) from None
    if (anchor.size, anchor.root.hex()) != (latest.size, latest.root):
        raise InvalidHistory(
            f"the kept checkpoint #{latest.position} says {latest.size} leaves and root "
            f"{latest.root[:16]}..., its signed note another: the kept checkpoints were changed"
        )
    return await checked_root(store, size, anchor.size, anchor.root)


class InclusionProof(BaseModel):
    """An event's place in a checkpoint's tree: what `concord audit check` verifies offline."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["inclusion"] = "inclusion"
    checkpoint: str
    """The signed checkpoint the proof is against."""
    position: int
    index: int
    """The leaf: position - 1."""
    entry: str
    """The event's stored canonical bytes, base64."""
    proof: list[str]
    """RFC 9162 inclusion path, base64 hashes."""


class ConsistencyProof(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["consistency"] = "consistency"
    old: str
    new: str
    """The signed checkpoints: the new tree extends the old one unchanged."""
    proof: list[str]


def b64(hashes: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in hashes]


def unb64(values: list[str], field: str) -> list[bytes]:
    try:
        return [base64.b64decode(v, validate=True) for v in values]
    except binascii.Error:
        raise InvalidInput(field, "not base64") from None


async def prove_consistency(
    tree: StoredTree, old_signed: str, old: Checkpoint, new_signed: str, new: Checkpoint
) -> ConsistencyProof:
    if old.size > new.size:
        raise AuditFailed(f"the log has {new.size} events, fewer than the checkpoint's {old.size}")
    proof = await tree.consistency(old.size, new.size)
    return ConsistencyProof(old=old_signed, new=new_signed, proof=b64(proof))


async def prove_inclusion(
    store: EventStore, tree: StoredTree, signed: str, checkpoint: Checkpoint, position: int
) -> InclusionProof:
    if not 1 <= position <= checkpoint.size:
        raise NotFound(f"position {position} is not in the checkpoint's tree of {checkpoint.size}")
    event = await anext(aiter(store.read_log(position, page_size=1)), None)
    if event is None:
        raise NotFound(f"no event at position {position}")
    proof = await tree.inclusion(position - 1, checkpoint.size)
    return InclusionProof(
        checkpoint=signed,
        position=position,
        index=position - 1,
        entry=base64.b64encode(event.body).decode(),
        proof=b64(proof),
    )


def check(document: dict[str, Any], verifier: note.Verifier) -> str:
    """Verify a proof file with the public key alone; the line saying what it proved, or
    AuditFailed saying what does not hold."""
    kind = document.get("kind")
    if kind == "inclusion":
        inclusion = InclusionProof.model_validate(document)
        if inclusion.index != inclusion.position - 1:
            raise AuditFailed(
                f"the proof is of leaf {inclusion.index}, which is position "
                f"{inclusion.index + 1}, not the position {inclusion.position} it names"
            )
        checkpoint = open_checkpoint(inclusion.checkpoint, verifier)
        leaf = merkle.leaf_hash(base64.b64decode(inclusion.entry))
        proof = unb64(inclusion.proof, "proof")
        if not merkle.verify_inclusion(
            leaf, inclusion.index, checkpoint.size, proof, checkpoint.root
        ):
            raise AuditFailed(
                f"the event at position {inclusion.position} is not proved to be in the tree of "
                f"{checkpoint.size} signed by {verifier.name}"
            )
        return (
            f"position {inclusion.position} is in {checkpoint.origin}'s tree of "
            f"{checkpoint.size}, signed by {verifier.name}"
        )
    if kind == "consistency":
        consistency = ConsistencyProof.model_validate(document)
        old = open_checkpoint(consistency.old, verifier)
        new = open_checkpoint(consistency.new, verifier, old.origin)
        proof = unb64(consistency.proof, "proof")
        if not merkle.verify_consistency(old.size, new.size, old.root, new.root, proof):
            raise AuditFailed(
                f"the tree of {new.size} does not extend the checkpoint of {old.size} unchanged"
            )
        return f"{new.origin}'s tree of {new.size} extends its tree of {old.size} unchanged"
    raise InvalidInput("kind", "a proof file is an inclusion or a consistency proof")
