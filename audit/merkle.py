"""The event log as a Merkle tree (RFC 6962 / RFC 9162): hashes, proofs, and their checks.

Leaf i (0-based) is the event at global position i + 1; its entry is the event's stored
canonical bytes (RFC 8785), hashed as `SHA-256(0x00 || entry)`; a node is
`SHA-256(0x01 || left || right)`. Proofs are built from the hashes of complete subtrees
(`Subtrees`: level L, index k covers leaves [k * 2^L, (k + 1) * 2^L)), which the store keeps, so
a proof reads O(log n) hashes and never the log. The checks need nothing but hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

BLOCK_HEIGHT: Final = 4
"""The store keeps the subtrees of 2^4 leaves and up (audit.tree): a proof recomputes the rest
from at most 16 entries a block, and verification folds the log into its blocks of 16."""

Subtrees = Callable[[int, int], Awaitable[bytes]]
"""The hash of the complete subtree at (level, index): leaves [index * 2^level, +2^level)."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(size: int) -> int:
    """The largest power of two smaller than `size` (size > 1): where RFC 6962 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, computed directly (for tests and small trees)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = split(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


async def range_hash(subtrees: Subtrees, start: int, end: int) -> bytes:
    """MTH of leaves [start, end) as RFC 6962's recursion reaches it: complete aligned blocks
    are read, a ragged right edge is combined from them."""
    size = end - start
    if size == 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        return await subtrees(level, start >> level)
    k = split(size)
    return node_hash(
        await range_hash(subtrees, start, start + k), await range_hash(subtrees, start + k, end)
    )


async def inclusion_proof(subtrees: Subtrees, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3.1: PATH(index, D[0:size])."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")

    async def path(m: int, start: int, end: int) -> list[bytes]:
        n = end - start
        if n == 1:
            return []
        k = split(n)
        if m < k:
            return [*await path(m, start, start + k), await range_hash(subtrees, start + k, end)]
        return [*await path(m - k, start + k, end), await range_hash(subtrees, start, start + k)]

    return await path(index, 0, size)


async def consistency_proof(subtrees: Subtrees, old: int, new: int) -> list[bytes]:
    """RFC 9162 §2.1.4.1: PROOF(old, D[0:new]); empty when old is 0 or equals new."""
    if not 0 <= old <= new:
        raise ValueError(f"a tree of {old} cannot grow into a tree of {new}")
    if old in (0, new):
        return []

    async def subproof(m: int, start: int, end: int, whole: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if whole else [await range_hash(subtrees, start, end)]
        k = split(n)
        if m <= k:
            return [
                *await subproof(m, start, start + k, whole),
                await range_hash(subtrees, start + k, end),
            ]
        return [
            *await subproof(m - k, start + k, end, False),
            await range_hash(subtrees, start, start + k),
        ]

    return await subproof(old, 0, new, True)


def _to_a_right_child(fn: int, sn: int) -> tuple[int, int]:
    """RFC 9162's step after hashing on the left: unless LSB(fn) is set, right-shift fn and sn
    together until it is, or fn is 0."""
    if not fn & 1:
        while True:
            fn, sn = fn >> 1, sn >> 1
            if fn & 1 or fn == 0:
                break
    return fn, sn


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `proof` put `leaf` at `index` of the tree of `size` with `root`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _to_a_right_child(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show the tree of `new` with `new_root` extends, unchanged,
    the tree of `old` with `old_root`?"""
    if old > new or old < 0:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _to_a_right_child(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


class Blocks:
    """Folds leaf hashes, in order from leaf `first`, into the roots of the complete, aligned
    blocks of 2^height leaves; the leaves before the first block boundary are kept in `lead`
    and those after the last complete block in `pending`, for a neighbouring range to finish."""

    def __init__(self, height: int, first: int = 0) -> None:
        self.width = 1 << height
        self._lead_size = -first % self.width
        self.lead: list[bytes] = []
        self.roots: list[bytes] = []
        self.pending: list[bytes] = []
        """Leaf hashes not folded yet; appended to by the caller, then `fold()`."""

    def fold(self) -> None:
        """Turn every complete block of pending leaves into its root."""
        pending = self.pending
        if len(self.lead) < self._lead_size:
            taken = pending[: self._lead_size - len(self.lead)]
            self.lead += taken
            del pending[: len(taken)]
        width = self.width
        whole = len(pending) - len(pending) % width
        for start in range(0, whole, width):
            level = pending[start : start + width]
            while len(level) > 1:
                level = [node_hash(a, b) for a, b in zip(level[::2], level[1::2], strict=True)]
            self.roots.append(level[0])
        del pending[:whole]


def joined_blocks(
    parts: Sequence[tuple[Sequence[bytes], Sequence[bytes], Sequence[bytes]]], height: int
) -> list[bytes]:
    """The block roots of consecutive ranges' `Blocks` (lead, roots, pending), joined: each
    range's pending leaves and the next one's lead make up the block between them."""
    joined = Blocks(height)
    for lead, roots, pending in parts:
        joined.pending += lead
        joined.fold()
        if roots:
            joined.roots += roots
        joined.pending += pending
    return joined.roots


class MemoryTree:
    """A tree held in memory, complete subtrees kept level by level (tests, small tools)."""

    def __init__(self) -> None:
        self.levels: list[list[bytes]] = [[]]

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, entry_hash: bytes) -> None:
        """Add a leaf hash; every subtree it completes is kept."""
        self.levels[0].append(entry_hash)
        level = 0
        while len(self.levels[level]) % 2 == 0:
            row = self.levels[level]
            if len(self.levels) == level + 1:
                self.levels.append([])
            self.levels[level + 1].append(node_hash(row[-2], row[-1]))
            level += 1

    async def subtree(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    async def root(self, size: int | None = None) -> bytes:
        return await range_hash(self.subtree, 0, self.size if size is None else size)
