"""The log's Merkle tree, kept in the store by a projection: as events are appended, each
subtree they complete is hashed once and kept (`merkle_subtrees`), so a root or a proof reads
O(log n) hashes and never the log itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlalchemy import Table, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from audit import merkle
from domain.errors import InvalidHistory, NotFound
from store.eventstore import EventStore
from store.projections import ProjectionRunner
from store.records import StoredEvent
from store.schema import merkle_subtrees

TREE: Final = "merkle_tree"
"""The projection's name: its position is the tree's size."""


def edge(size: int) -> list[tuple[int, int]]:
    """The complete subtrees that make up the first `size` leaves, largest first: (level, index)."""
    nodes = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append((level, start >> level))
            start += 1 << level
    return nodes


class MerkleProjection:
    """Extends the stored tree with each batch of the log (every event, in position order)."""

    name = TREE

    @property
    def tables(self) -> Sequence[Table]:
        return (merkle_subtrees,)

    async def apply(self, connection: AsyncConnection, batch: Sequence[StoredEvent]) -> None:
        if not batch:
            return
        size = batch[0].position - 1
        wanted = edge(size)
        stored = (
            {
                (row.level, row.idx): bytes.fromhex(row.hash)
                for row in await connection.execute(
                    select(merkle_subtrees).where(
                        tuple_(merkle_subtrees.c.level, merkle_subtrees.c.idx).in_(wanted)
                    )
                )
            }
            if wanted
            else {}
        )
        if len(stored) != len(wanted):
            raise InvalidHistory(
                f"the stored Merkle tree lacks subtrees of its first {size} leaves"
            )
        stack = [(level, index, stored[(level, index)]) for level, index in wanted]
        new: list[dict[str, object]] = []
        for offset, event in enumerate(batch):
            if event.position != size + offset + 1:
                raise InvalidHistory(
                    f"the Merkle tree takes every position in order: {event.position} came "
                    f"after {size + offset}"
                )
            leaf = (0, size + offset, merkle.leaf_hash(event.body))
            stack.append(leaf)
            new.append({"level": 0, "idx": leaf[1], "hash": leaf[2].hex()})
            while len(stack) > 1 and stack[-1][0] == stack[-2][0]:
                (level, index, right), (_, _, left) = stack.pop(), stack.pop()
                parent = (level + 1, index >> 1, merkle.node_hash(left, right))
                stack.append(parent)
                new.append({"level": parent[0], "idx": parent[1], "hash": parent[2].hex()})
        await connection.execute(merkle_subtrees.insert(), new)


class StoredTree:
    """Reads the stored tree: its size, roots and proofs."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._cache: dict[tuple[int, int], bytes] = {}

    async def size(self) -> int:
        return await self._store.projection_position(TREE)

    async def subtree(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._cache:
            rows = await self._store.read(
                select(merkle_subtrees.c.hash).where(
                    merkle_subtrees.c.level == level, merkle_subtrees.c.idx == index
                )
            )
            if not rows:
                raise NotFound(f"the Merkle tree has no subtree at level {level}, index {index}")
            self._cache[key] = bytes.fromhex(rows[0].hash)
        return self._cache[key]

    async def root(self, size: int) -> bytes:
        return await merkle.range_hash(self.subtree, 0, size)

    async def inclusion(self, index: int, size: int) -> list[bytes]:
        return await merkle.inclusion_proof(self.subtree, index, size)

    async def consistency(self, old: int, new: int) -> list[bytes]:
        return await merkle.consistency_proof(self.subtree, old, new)


async def caught_up(store: EventStore) -> StoredTree:
    """The stored tree, extended to the log's head first."""
    await ProjectionRunner(store, [MerkleProjection()]).catch_up()
    return StoredTree(store)
