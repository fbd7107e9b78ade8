"""A monitor of a Concord log over HTTP: from any machine, it follows the signed checkpoint, the
hash tiles and (with a token) the entry bundles, trusts nothing of the server's but what the
log's key signed, and raises AuditFailed on a fork, a rollback, or an entry that does not hash.

What a pass verified is kept in a state directory (per origin: the checkpoint, its tree's right
edge, the chain hash and each decision's last hash), so the next pass reads only the log's
growth, and the tiles that show the tree verified before is still the one served: the server
computes its level-0 tiles from its entries, so an entry edited in place there changes them."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from audit import merkle
from audit.checkpoint import Checkpoint, open_checkpoint
from audit.note import Verifier
from audit.served import ServedLog, ServedTree, shown
from audit.tiles import HEIGHT, WIDTH
from audit.tree import Frontier, edge
from domain.errors import AuditFailed, InvalidInput
from store.hashing import GENESIS_HASH, canonical_json, chain_digest

Node = tuple[int, int, bytes]
"""A complete subtree: (level, index, hash)."""
Hash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

SWEEP_TILES: Final = 64
"""Full level-0 tiles of the verified tree re-hashed per pass, in turn: every pass re-reads a
log of up to 16,384 entries whole, and a larger one every n / 16,384 passes."""


class StreamTail(BaseModel):
    """A decision's last event as the monitor checked it: its version, hash and position."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    hash: Hash
    position: int = Field(ge=1)


class CheckedEntries(BaseModel):
    """How far the entries themselves were read and checked (a pass without a token checks
    the tree alone): the chain hash at that size, the tree's edge there, each decision's tail."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    size: int = Field(default=0, ge=0)
    chain_hash: Hash = GENESIS_HASH
    edge: list[Hash] = Field(default_factory=list)
    streams: dict[str, StreamTail] = Field(default_factory=dict)


class MonitorState(BaseModel):
    """What the monitor keeps of a log between passes, all of it verified."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    checkpoint: str
    """The last checkpoint verified, as signed."""
    edge: list[Hash]
    """The hashes of its tree's right edge, `edge(size)` in order."""
    entries: CheckedEntries = Field(default_factory=CheckedEntries)
    swept: int = Field(default=0, ge=0)
    """The next full level-0 tile of the verified tree to re-hash."""


@dataclass(frozen=True)
class Kept:
    """The state read back and shown to hold together: its checkpoint opened, its edge."""

    state: MonitorState
    checkpoint: Checkpoint
    nodes: list[Node]


@dataclass(frozen=True)
class Verified:
    """What one pass verified."""

    origin: str
    size: int
    root: bytes
    previous: int | None
    """The size verified before this pass; None on the first."""
    entries_checked: int
    unchecked_from: int
    """The first position whose entry was never read (size + 1 when all were)."""
    rehashed: int
    """Entries of the tree verified before whose leaf hashes were recomputed from its tiles."""

    def line(self) -> str:
        if self.previous is None:
            said = f"{self.origin}: its tree of {self.size} verified"
        elif self.previous == self.size:
            said = f"{self.origin}: its tree of {self.size} verified before is still the one served"
        else:
            said = f"{self.origin}: its tree of {self.size} extends the tree of {self.previous}"
        said += f"; {self.entries_checked} entries checked"
        if self.unchecked_from <= self.size:
            said += (
                f"; entries were not checked (no token): positions {self.unchecked_from}.."
                f"{self.size} are verified by hash tiles only"
            )
        if self.rehashed:
            said += f"; {self.rehashed} entries verified before re-hashed from the tiles"
        return said

    def document(self) -> dict[str, Any]:
        return {
            "ok": True,
            "origin": self.origin,
            "size": self.size,
            "root": self.root.hex(),
            "previous_size": self.previous,
            "entries_checked": self.entries_checked,
            "entries_unchecked": self.size - self.unchecked_from + 1,
            "rehashed": self.rehashed,
        }


def opened(signed: str, verifier: Verifier) -> Checkpoint:
    """The served checkpoint, once the log's key signed it for its own origin; else the alarm."""
    try:
        return open_checkpoint(signed, verifier, verifier.name)
    except InvalidInput as error:
        raise AuditFailed(
            f"the log's checkpoint is refused: {error.reason} (a forged checkpoint, or not this "
            "log's key)"
        ) from None


def state_file(directory: Path, origin: str) -> Path:
    return directory / f"{hashlib.sha256(origin.encode()).hexdigest()[:16]}.json"


def read_state(directory: Path, verifier: Verifier) -> Kept | None:
    """What the last pass verified for the key's origin (None before the first), checked to
    hold together: its checkpoint signed by the key, its edge hashing to that root."""
    path = state_file(directory, verifier.name)
    if not path.exists():
        return None
    try:
        state = MonitorState.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as error:
        raise InvalidInput("state", f"{path} is not a monitor's state: {_first(error)}") from None
    try:
        checkpoint = open_checkpoint(state.checkpoint, verifier, verifier.name)
    except InvalidInput:
        raise InvalidInput(
            "state", f"{path} holds a checkpoint the key given did not sign"
        ) from None
    nodes = _nodes(checkpoint.size, state.edge)
    entries = _nodes(state.entries.size, state.entries.edge)
    if (
        nodes is None
        or entries is None
        or Frontier(checkpoint.size, nodes).root() != checkpoint.root
        or state.entries.size > checkpoint.size
    ):
        raise InvalidInput("state", f"{path}'s tree does not hash to its checkpoint's root")
    return Kept(state, checkpoint, nodes)


def write_state(directory: Path, origin: str, state: MonitorState) -> None:
    """Replace the origin's state at once (a temporary file, then a rename)."""
    path = state_file(directory, origin)
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(state.model_dump_json(indent=1).encode())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


async def monitor_pass(log: ServedLog, verifier: Verifier, directory: Path) -> Verified:
    """One pass: the served checkpoint verified against what the state kept (never smaller,
    never another root at a size verified, its tree extending the one verified), the tree
    verified before re-hashed from the served tiles, and the growth checked entry by entry
    (with a token) or with the hash tiles. The state advances only when all of it holds."""
    kept = read_state(directory, verifier)
    signed = await log.checkpoint()
    checkpoint = opened(signed, verifier)
    tree = ServedTree(log, checkpoint.size)
    entries = kept.state.entries if kept else CheckedEntries()
    nodes, swept, rehashed = [], 0, 0
    if kept is not None:
        before = kept.checkpoint
        if checkpoint.size < before.size:
            raise AuditFailed(
                f"rollback: the log's checkpoint has {checkpoint.size} entries, fewer than the "
                f"{before.size} verified before"
            )
        if checkpoint.size == before.size and checkpoint.root != before.root:
            raise AuditFailed(
                f"fork: the log's checkpoint of {checkpoint.size} entries has another root than "
                "the one verified before at that size"
            )
        nodes = kept.nodes
        swept, rehashed = await still_served(tree, before.size, nodes, kept.state.swept)
    checked = 0
    if log.reads_entries and entries.size < checkpoint.size:
        checked = checkpoint.size - entries.size
        entries = await grown_with_entries(log, entries, kept, checkpoint)
        nodes = _nodes(checkpoint.size, entries.edge) or []
    elif kept is None or checkpoint.size > kept.checkpoint.size:
        nodes = await grown_with_tiles(tree, kept, checkpoint)
    state = MonitorState(checkpoint=signed, edge=_hex(nodes), entries=entries, swept=swept)
    if kept is None or state != kept.state:
        write_state(directory, verifier.name, state)
    return Verified(
        origin=checkpoint.origin,
        size=checkpoint.size,
        root=checkpoint.root,
        previous=kept.checkpoint.size if kept else None,
        entries_checked=checked,
        unchecked_from=entries.size + 1,
        rehashed=rehashed,
    )


async def still_served(
    tree: ServedTree, size: int, nodes: list[Node], swept: int
) -> tuple[int, int]:
    """Show the served tiles still make the tree of `size` verified before (its edge `nodes`):
    each edge subtree from its tile, and, in turn, up to SWEEP_TILES full level-0 tiles, each
    re-hashed and taken up to its edge subtree. The next tile to re-hash and how many leaves
    were; AuditFailed naming the positions and the tile that hash otherwise."""
    rehashed = 0
    for level, index, digest in nodes:
        low, high = index << level, (index + 1) << level
        if level < HEIGHT:
            made = merkle.root_of(await tree.hashes(0, low, high))
            rehashed += high - low
            where = tree.path(0, low // WIDTH)
        else:
            made = await tree.subtree(level, index)
            where = tree.path(level // HEIGHT, (index << level % HEIGHT) // WIDTH)
        if made != digest:
            raise AuditFailed(
                f"the served tiles no longer make the tree of {size} verified before: positions "
                f"{low + 1}..{high} ({where}) hash otherwise; the log was changed there"
            )
    full = size // WIDTH
    if not full:
        return 0, rehashed
    start = swept % full
    for step in range(min(SWEEP_TILES, full)):
        index = (start + step) % full
        digest = merkle.root_of(await tree.hashes(0, index * WIDTH, (index + 1) * WIDTH))
        rehashed += WIDTH
        leaf = index * WIDTH
        level, _, kept = next(n for n in nodes if n[1] << n[0] <= leaf < (n[1] + 1) << n[0])
        at = index
        for height in range(HEIGHT, level):
            sibling = await tree.subtree(height, at ^ 1)
            digest = (
                merkle.node_hash(sibling, digest) if at & 1 else merkle.node_hash(digest, sibling)
            )
            at >>= 1
        if digest != kept:
            raise AuditFailed(
                f"the served tiles no longer make the tree of {size} verified before: the "
                f"entries at positions {index * WIDTH + 1}..{(index + 1) * WIDTH} "
                f"({tree.path(0, index)}) hash otherwise; one of them was changed in place"
            )
    return (start + min(SWEEP_TILES, full)) % full, rehashed


async def grown_with_entries(
    log: ServedLog, entries: CheckedEntries, kept: Kept | None, checkpoint: Checkpoint
) -> CheckedEntries:
    """Check each entry from where the entries were last checked to the checkpoint's size
    (`check_entry`), fold their leaves onto the tree's edge there, and show the tree they make
    is the one verified before at its size and the checkpoint's at the end."""
    frontier = Frontier(entries.size, _nodes(entries.size, entries.edge) or [])
    chain = bytes.fromhex(entries.chain_hash)
    streams = dict(entries.streams)
    size = checkpoint.size
    for index in range(entries.size // WIDTH, -(-size // WIDTH)):
        bundle = await log.entries(index, min(WIDTH, size - index * WIDTH))
        for offset, entry in enumerate(bundle):
            leaf = index * WIDTH + offset
            if leaf < frontier.size:
                continue
            chain = check_entry(entry, leaf + 1, chain, streams)
            frontier.append(merkle.leaf_hash(entry))
            before = kept.checkpoint if kept else None
            if before and frontier.size == before.size and frontier.root() != before.root:
                raise AuditFailed(
                    f"fork: the log's first {before.size} entries do not make the tree of "
                    f"{before.size} verified before"
                )
    if frontier.root() != checkpoint.root:
        raise AuditFailed(
            f"the checkpoint's root is not the tree of its entries: its {size} entries make "
            "another tree than the one it signed"
        )
    return CheckedEntries(
        size=size, chain_hash=chain.hex(), edge=_hex(frontier.subtrees), streams=streams
    )


async def grown_with_tiles(
    tree: ServedTree, kept: Kept | None, checkpoint: Checkpoint
) -> list[Node]:
    """Without the entries: the consistency of the tree verified before with the checkpoint's
    (RFC 9162), proved from the hash tiles, and the checkpoint's edge from them, hashing to
    its root. That edge."""
    before = kept.checkpoint if kept else None
    if before is not None and before.size:
        proof = await merkle.consistency_proof(tree.subtree, before.size, checkpoint.size)
        if not merkle.verify_consistency(
            before.size, checkpoint.size, before.root, checkpoint.root, proof
        ):
            raise AuditFailed(
                f"fork: the log's tree of {checkpoint.size} does not extend the tree of "
                f"{before.size} verified before (its hash tiles prove no consistency)"
            )
    nodes = [
        (level, index, await tree.subtree(level, index)) for level, index in edge(checkpoint.size)
    ]
    if Frontier(checkpoint.size, nodes).root() != checkpoint.root:
        raise AuditFailed(
            f"the checkpoint's root is not the tree of its hash tiles: the served tiles make "
            f"another tree of {checkpoint.size} than the one it signed"
        )
    return nodes


def check_entry(entry: bytes, position: int, chain: bytes, streams: dict[str, StreamTail]) -> bytes:
    """The chain hash of `entry` at `position` after `chain`, once it is the canonical JSON of
    an event at that position that follows its decision's last event (`streams`, updated)."""
    try:
        document = orjson.loads(entry)
        canonical = canonical_json(document)
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        raise AuditFailed(f"the entry at position {position} is not JSON the log hashes") from None
    if canonical != entry:
        raise AuditFailed(
            f"the entry at position {position} is not canonical JSON: not the bytes hashed"
        )
    said = document.get("position") if isinstance(document, dict) else None
    if type(said) is not int or said != position:
        raise AuditFailed(
            f"the entry at position {position} says it is at position {shown(str(said))}: "
            "entries were moved, removed or inserted"
        )
    decision = document.get("decision_id")
    version = document.get("stream_version")
    link = document.get("stream_prev_hash")
    if not isinstance(decision, str) or type(version) is not int or not isinstance(link, str):
        raise AuditFailed(
            f"the entry at position {position} lacks its decision_id, stream_version or "
            "stream_prev_hash"
        )
    tail = streams.get(decision)
    if version != (tail.version if tail else 0) + 1:
        before = f"version {tail.version} at position {tail.position}" if tail else "no event"
        raise AuditFailed(
            f"the entry at position {position} is version {version} of decision "
            f"{shown(decision)}, whose last was {before}"
        )
    if tail is None and link != GENESIS_HASH:
        raise AuditFailed(
            f"the entry at position {position} is decision {shown(decision)}'s first event but "
            f"links to {shown(link)[:16]}..., not to the genesis hash"
        )
    if tail is not None and link != tail.hash:
        raise AuditFailed(
            f"entry at position {tail.position} does not hash: decision {shown(decision)}'s "
            f"next event (position {position}) links to {shown(link)[:16]}..., the entry hashes "
            f"to {tail.hash[:16]}...; the log was changed at or before position {tail.position}"
        )
    digest = chain_digest(chain, entry)
    streams[decision] = StreamTail(version=version, hash=digest.hex(), position=position)
    return digest


def _nodes(size: int, hashes: list[str]) -> list[Node] | None:
    where = edge(size)
    if len(where) != len(hashes):
        return None
    return [
        (level, index, bytes.fromhex(h)) for (level, index), h in zip(where, hashes, strict=True)
    ]


def _hex(nodes: list[Node]) -> list[str]:
    return [digest.hex() for _, _, digest in nodes]


def _first(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(error)
