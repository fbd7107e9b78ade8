"""The log's Merkle tree, kept in the store by a projection: as events are appended, each
subtree they complete is hashed once and kept (`merkle_subtrees`), so a root or a proof reads
O(log n) hashes and never the log itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Final, TypeVar

from sqlalchemy import ColumnElement, Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from audit import merkle
from domain.errors import InvalidHistory, NotFound
from store.eventstore import EventStore
from store.projections import ProjectionRunner
from store.records import StoredEvent
from store.schema import LOG_COLUMNS, merkle_subtrees

T = TypeVar("T")

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


def _among(nodes: Collection[tuple[int, int]]) -> ColumnElement[bool]:
    """Rows of these (level, index) pairs, as a condition each database answers from the
    primary key (a row-value IN is scanned by SQLite)."""
    by_level: dict[int, list[int]] = {}
    for level, index in nodes:
        by_level.setdefault(level, []).append(index)
    return or_(
        *(
            and_(merkle_subtrees.c.level == level, merkle_subtrees.c.idx.in_(sorted(indexes)))
            for level, indexes in sorted(by_level.items())
        )
    )


class Frontier:
    """The right edge of a tree grown leaf by leaf: O(log n) hashes, whatever the size. It
    starts empty, or from the stored edge of a tree of `size` leaves (`edge(size)`, hashed)."""

    def __init__(self, size: int = 0, stack: Sequence[tuple[int, int, bytes]] = ()) -> None:
        self.size = size
        self._stack = list(stack)

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
                for row in await connection.execute(select(merkle_subtrees).where(_among(wanted)))
            }
            if wanted
            else {}
        )
        if len(stored) != len(wanted):
            raise InvalidHistory(
                f"the stored Merkle tree lacks subtrees of its first {size} leaves"
            )
        frontier = Frontier(
            size, [(level, index, stored[(level, index)]) for level, index in wanted]
        )
        new: list[dict[str, object]] = []
        for event in batch:
            if event.position != frontier.size + 1:
                raise InvalidHistory(
                    f"the Merkle tree takes every position in order: {event.position} came "
                    f"after {frontier.size}"
                )
            new += (
                {"level": level, "idx": index, "hash": digest.hex()}
                for level, index, digest in frontier.append(merkle.leaf_hash(event.body))
            )
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
        return await self._read_once(lambda nodes: merkle.range_hash(nodes, 0, size))

    async def inclusion(self, index: int, size: int) -> list[bytes]:
        return await self._read_once(lambda nodes: merkle.inclusion_proof(nodes, index, size))

    async def consistency(self, old: int, new: int) -> list[bytes]:
        return await self._read_once(lambda nodes: merkle.consistency_proof(nodes, old, new))

    async def _read_once(self, compute: Callable[[merkle.Subtrees], Awaitable[T]]) -> T:
        """Run `compute` once to learn which subtrees it reads (its path depends on sizes,
        never on hashes), fetch them in one query, then run it on them."""
        wanted: set[tuple[int, int]] = set()

        async def noting(level: int, index: int) -> bytes:
            wanted.add((level, index))
            return bytes(32)

        await compute(noting)
        missing = wanted - self._cache.keys()
        if missing:
            rows = await self._store.read(select(merkle_subtrees).where(_among(missing)))
            self._cache.update({(r.level, r.idx): bytes.fromhex(r.hash) for r in rows})
        return await compute(self.subtree)


async def caught_up(store: EventStore) -> StoredTree:
    """The stored tree, extended to the log's head first."""
    await ProjectionRunner(store, [MerkleProjection()]).catch_up()
    return StoredTree(store)


_VERIFY_PAGE: Final = 20_000
_BODY: Final = LOG_COLUMNS.index("body")


async def verify_tree(store: EventStore) -> tuple[int, str | None]:
    """Recompute the tree from the log's stored entries, a page at a time in constant memory,
    and compare every stored subtree hash with it: (leaves checked, the first finding or None)."""
    size = await StoredTree(store).size()
    frontier = Frontier()
    async with store.snapshot() as snapshot:
        # Raw rows: the entries as stored, whether or not they still read as events.
        async for rows in snapshot.pages(_VERIFY_PAGE, after=0, until=size):
            page: list[tuple[int, int, bytes]] = []
            for row in rows:
                body = row[_BODY]  # text, if a row was written around the store
                entry = body.encode() if isinstance(body, str) else bytes(body)
                page += frontier.append(merkle.leaf_hash(entry))
            finding = await _compare(store, page)
            if finding:
                return frontier.size, finding
    if frontier.size < size:
        return frontier.size, f"the stored tree has {size} leaves, the log {frontier.size} events"
    return size, None


async def _compare(store: EventStore, computed: list[tuple[int, int, bytes]]) -> str | None:
    by_level: dict[int, dict[int, bytes]] = {}
    for level, index, digest in computed:
        by_level.setdefault(level, {})[index] = digest
    for level, nodes in sorted(by_level.items()):
        rows = await store.read(
            select(merkle_subtrees.c.idx, merkle_subtrees.c.hash)
            .where(
                merkle_subtrees.c.level == level,
                merkle_subtrees.c.idx >= min(nodes),
                merkle_subtrees.c.idx <= max(nodes),
            )
            .order_by(merkle_subtrees.c.idx)
        )
        stored = {row.idx: row.hash for row in rows}
        for index, digest in sorted(nodes.items()):
            if stored.get(index) != digest.hex():
                first, last = index << level, ((index + 1) << level) - 1
                return (
                    f"the stored Merkle tree's subtree at level {level}, index {index} (positions "
                    f"{first + 1}..{last + 1}) does not hash to the log's entries"
                )
    return None
