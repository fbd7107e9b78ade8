"""The log's Merkle tree, kept in the store by a projection: as events are appended, each
subtree of 16 leaves or more that they complete is hashed once and kept (`merkle_subtrees`).
A smaller subtree is recomputed from its block's at most 16 entries when asked for, so a root or
a proof reads O(log n) hashes and at most two blocks of entries, never the log itself; the table
holds one row per 8 events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Final, TypeVar

from audit import merkle
from audit.chain_check import BreakReason, LogBreak
from domain.errors import InvalidHistory, NotFound
from store import tree_rows
from store.backends import LogPages
from store.eventstore import EventStore
from store.hashing import GENESIS_HASH, chain_hash
from store.projections import ProjectionRunner

T = TypeVar("T")

TREE: Final = "merkle_tree"
"""The projection's name: its position is the tree's size."""

LOWEST_STORED: Final = merkle.BLOCK_HEIGHT
"""Subtrees of 2^4 leaves and up are stored; smaller ones are recomputed from their entries."""
BLOCK: Final = 1 << LOWEST_STORED


def edge(size: int) -> list[tuple[int, int]]:
    """The complete subtrees that make up the first `size` leaves, largest first: (level, index)."""
    nodes = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


def _leaves(rows: Sequence[Sequence[Any]], first: int, end: int) -> list[bytes]:
    """The leaf hashes of (position, body) entries of leaves [first, end); InvalidHistory if
    any is missing."""
    if [row[0] for row in rows] != list(range(first + 1, end + 1)):
        raise InvalidHistory(f"the log lacks events among positions {first + 1}..{end}")
    return [merkle.leaf_hash(bytes(row[1])) for row in rows]


class Frontier:
    """The right edge of a tree grown leaf by leaf: O(log n) hashes, whatever the size. It
    starts empty, or from the stored edge of a tree of `size` leaves (`edge(size)`, hashed)."""

    def __init__(self, size: int = 0, stack: Sequence[tuple[int, int, bytes]] = ()) -> None:
        self.size = size
        self._stack = list(stack)

    def copy(self) -> Frontier:
        return Frontier(self.size, self._stack)

    @property
    def subtrees(self) -> list[tuple[int, int, bytes]]:
        """Its edge as (level, index, hash), largest first: `edge(size)`, hashed, what a
        Frontier of this size starts from again."""
        return list(self._stack)

    def root(self) -> bytes:
        """The root of the tree grown so far: its edge's subtrees, hashed right to left."""
        if not self._stack:
            return merkle.EMPTY_ROOT
        root = self._stack[-1][2]
        for _, _, left in reversed(self._stack[:-1]):
            root = merkle.node_hash(left, root)
        return root

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; the subtrees it completes, as (level, index, hash), leaf first."""
        completed = [(0, self.size, leaf)]
        self._stack.append(completed[0])
        self.size += 1
        while len(self._stack) > 1 and self._stack[-1][0] == self._stack[-2][0]:
            (level, index, right), (_, _, left) = self._stack.pop(), self._stack.pop()
            parent = (level + 1, index >> 1, merkle.node_hash(left, right))
            self._stack.append(parent)
            completed.append(parent)
        return completed


class MerkleProjection:
    """Extends the stored tree with the log, every event in position order (a store Keeper):
    the new entries are read and hashed outside any lock, then the subtrees they complete and
    the tree's new size are stored in one short transaction, so appends do not wait on it.

    The frontier of the last batch is kept between batches; after a restart (or when another
    runner moved the tree first) it is rebuilt from the stored subtrees and the entries of the
    last, incomplete block."""

    name = TREE

    def __init__(self, batch_size: int | None = None) -> None:
        self._frontier = Frontier()
        self.batch_size = batch_size
        """Events read and stored per transaction (None: the runner's batch size)."""

    tables: Final = tree_rows.TABLES

    async def keep_up(self, store: EventStore, batch_size: int) -> int:
        batch_size = self.batch_size or batch_size
        applied = 0
        while True:
            async with store.snapshot() as snapshot:  # raw rows: a third of the reading's cost
                size = await snapshot.projection_position(TREE)
                rows = await snapshot.entries(size, batch_size)
            if not rows:
                return applied
            end = size + len(rows)
            leaves = _leaves(rows, size, end)
            frontier = (
                self._frontier.copy()
                if self._frontier.size == size
                else await stored_frontier(store, size)
            )
            new = [
                ((level, index), digest)
                for leaf in leaves
                for level, index, digest in frontier.append(leaf)
                if level >= LOWEST_STORED
            ]
            if await store.tree.keep(TREE, size, end, new):
                self._frontier = frontier
                applied += len(rows)
                if len(rows) < batch_size:
                    return applied
            else:
                self._frontier = Frontier()  # another runner moved the tree: read it again


async def stored_frontier(store: EventStore, size: int) -> Frontier:
    """The frontier of the stored tree of `size` leaves: the stored subtrees of its complete
    blocks, and the entries of its last, incomplete one."""
    blocks = size - size % BLOCK
    wanted = edge(blocks)
    [entries], stored = await store.tree.read_together([(blocks, size)], wanted)
    if len(stored) != len(wanted):
        raise InvalidHistory(f"the stored Merkle tree lacks subtrees of its first {blocks} leaves")
    frontier = Frontier(blocks, [(level, index, stored[(level, index)]) for level, index in wanted])
    for leaf in _leaves(entries, blocks, size):
        frontier.append(leaf)
    return frontier


class StoredTree:
    """Reads the stored tree: its size, roots and proofs."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._cache: dict[tuple[int, int], bytes] = {}

    async def size(self) -> int:
        return await self._store.projections.position(TREE)

    async def subtree(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._cache:
            await self._fetch({key})
        if key not in self._cache:
            raise NotFound(f"the Merkle tree has no subtree at level {level}, index {index}")
        return self._cache[key]

    async def root(self, size: int) -> bytes:
        return await self._read_once(lambda nodes: merkle.range_hash(nodes, 0, size))

    async def inclusion(self, index: int, size: int) -> list[bytes]:
        return await self._read_once(lambda nodes: merkle.inclusion_proof(nodes, index, size))

    async def consistency(self, old: int, new: int) -> list[bytes]:
        return await self._read_once(lambda nodes: merkle.consistency_proof(nodes, old, new))

    async def leaves(self, first: int, end: int) -> list[bytes]:
        """The leaf hashes of leaves [first, end), from their stored entries."""
        return _leaves(await self._store.tree.entries(first, end), first, end)

    async def entries(self, first: int, end: int) -> list[bytes]:
        """The stored entries of leaves [first, end) as they are, those there (fewer at the
        log's end)."""
        return [body for _, body in await self._store.tree.entries(first, end)]

    async def _read_once(self, compute: Callable[[merkle.Subtrees], Awaitable[T]]) -> T:
        """Run `compute` once to learn which subtrees it reads (its path depends on sizes,
        never on hashes), fetch them, then run it on them."""
        wanted: set[tuple[int, int]] = set()

        async def noting(level: int, index: int) -> bytes:
            wanted.add((level, index))
            return bytes(32)

        await compute(noting)
        await self._fetch(wanted - self._cache.keys())
        return await compute(self.subtree)

    async def _fetch(self, nodes: Iterable[tuple[int, int]]) -> None:
        """Cache these subtrees, read on one connection: the stored ones, and each smaller one
        with every subtree of the entries of its block that it needs."""
        stored = {node for node in nodes if node[0] >= LOWEST_STORED}
        ends: dict[int, int] = {}  # block -> the end of the leaves needed from it
        for level, index in nodes:
            if level < LOWEST_STORED:
                block = (index << level) // BLOCK
                ends[block] = max(ends.get(block, 0), (index + 1) << level)
        blocks = sorted(ends.items())
        ranges = [(block * BLOCK, end) for block, end in blocks]
        found, hashes = await self._store.tree.read_together(ranges, stored)
        self._cache.update(hashes)
        for (block, end), rows in zip(blocks, found, strict=True):
            level, first, row = 0, block * BLOCK, _leaves(rows, block * BLOCK, end)
            while row:
                offset = first >> level
                self._cache.update({(level, offset + i): digest for i, digest in enumerate(row)})
                pairs = zip(row[::2], row[1::2], strict=False)  # an odd last one waits
                level, row = level + 1, [merkle.node_hash(a, b) for a, b in pairs]


CHECK_BATCH: Final = 5_000
"""Leaves recomputed and compared with the stored tree at a time, when the signer checks."""


async def checked_root(store: EventStore, size: int, anchor_size: int, anchor_root: bytes) -> bytes:
    """The root of the log's first `size` leaves, established before anyone signs it: the
    stored tree's edge at `anchor_size` (the last checkpoint verified so) hashes to
    `anchor_root`; each event since links to the one before and hashes to its chain hash; the
    leaves since are recomputed from their entries, and every subtree they complete that the
    store keeps is the one they make. The cost is that of the growth since the anchor, not of
    the log. InvalidHistory naming what differs, else."""
    if size < anchor_size:
        raise InvalidHistory(
            f"the log holds {size} events, fewer than the {anchor_size} of the last checkpoint: "
            "it lost events"
        )
    frontier = await stored_frontier(store, anchor_size)
    if frontier.root() != anchor_root:
        raise InvalidHistory(
            f"the log's first {anchor_size} events no longer hash to the root of the checkpoint "
            "of that size: an event or the stored tree below it was changed"
        )
    linked = GENESIS_HASH
    if anchor_size:
        anchor = await store.tree.chain_hash_at(anchor_size)
        if anchor is None:
            raise InvalidHistory(f"the log lacks the event at position {anchor_size}")
        linked = anchor
    for first in range(anchor_size, size, CHECK_BATCH):
        end = min(size, first + CHECK_BATCH)
        rows = await store.tree.chained(first, end)
        leaves = _leaves([(row.position, row.body) for row in rows], first, end)
        for row in rows:
            if row.prev_hash != linked or chain_hash(row.prev_hash, row.body) != row.hash:
                raise InvalidHistory(
                    f"the event at position {row.position} does not hash to its chain hash, or "
                    "does not link to the one before: the log was changed there"
                )
            linked = row.hash
        made = {
            (level, index): digest
            for leaf in leaves
            for level, index, digest in frontier.append(leaf)
            if level >= LOWEST_STORED
        }
        if not made:
            continue
        kept = await store.tree.subtrees(made.keys())
        for (level, index), digest in sorted(made.items()):
            if kept.get((level, index)) != digest:
                low, high = index << level, ((index + 1) << level)
                raise InvalidHistory(
                    f"the stored Merkle tree's subtree of positions {low + 1}..{high} is not "
                    "the one their events hash to: the log or its tree was changed there"
                )
    return frontier.root()


async def caught_up(store: EventStore) -> StoredTree:
    """The stored tree, extended to the log's head first."""
    await ProjectionRunner(store, [MerkleProjection()]).catch_up()
    return StoredTree(store)


_COMPARE_PAGE: Final = 20_000


async def compare_stored(
    snapshot: LogPages, blocks: Sequence[bytes], leaves: int, *, whole: bool
) -> tuple[int, LogBreak | None]:
    """Compare the stored subtrees with the tree recomputed from the log's entries, given the
    roots of its complete blocks (`blocks`, from verification's pass over the first `leaves`
    entries in this `snapshot`; `whole` when that pass reached the head): how many leaves the
    compared tree has, and the first disagreement, if any."""
    size = await snapshot.projection_position(TREE)
    if size > leaves:
        if whole:
            return leaves, _tree_break(
                leaves + 1, f"the stored Merkle tree has {size} leaves, the log {leaves} events"
            )
        size = leaves
    level, computed = LOWEST_STORED, list(blocks[: size // BLOCK])
    while computed:
        for start in range(0, len(computed), _COMPARE_PAGE):
            expected = [digest.hex() for digest in computed[start : start + _COMPARE_PAGE]]
            rows = await snapshot.subtrees(level, start, start + len(expected))
            if [row[1] for row in rows] != expected:
                stored = {row[0]: row[1] for row in rows}
                index = next(
                    start + offset
                    for offset, digest in enumerate(expected)
                    if stored.get(start + offset) != digest
                )
                state = "does not hash to the log's entries" if index in stored else "is missing"
                return size, _tree_break(
                    (index << level) + 1,
                    f"the stored Merkle tree's subtree at level {level}, index {index} "
                    f"(positions {(index << level) + 1}..{(index + 1) << level}) {state}",
                )
        level += 1
        pairs = zip(computed[::2], computed[1::2], strict=False)  # an odd last one waits
        computed = [merkle.node_hash(a, b) for a, b in pairs]
    beyond = await snapshot.subtree_beyond(size) if whole else None
    if beyond is not None:
        level, index = beyond
        return size, _tree_break(
            (index << level) + 1,
            f"the stored Merkle tree has a subtree at level {level}, index {index}, beyond its "
            f"{size} leaves",
        )
    return size, None


def _tree_break(position: int, message: str) -> LogBreak:
    return LogBreak(position=position, reason=BreakReason.TREE_MISMATCH, message=message)
