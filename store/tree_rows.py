"""The rows the log's Merkle tree is read from and kept in: the log's entries (each event's
stored body, a leaf), and the subtrees the tree's projection stores (`merkle_subtrees`).

audit.tree computes the tree; this port is how it reads and keeps it, each read on one
connection so that what it reads together is of one state of the database."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Final, NamedTuple

from sqlalchemy import ColumnElement, Select, Table, and_, or_, select

from store.backends import LogBackend
from store.schema import events, merkle_subtrees
from store.tracking import ProjectionPositions

Node = tuple[int, int]
"""A subtree by (level, index): the hash of leaves [index << level, (index + 1) << level)."""

Entry = tuple[int, bytes]
"""A leaf's entry: the event's log position and its stored body."""

TABLES: Final[Sequence[Table]] = (merkle_subtrees,)
"""The tables the tree's projection keeps (emptied when it is rebuilt)."""


class ChainedEntry(NamedTuple):
    """An entry with the chain hashes that link it to the event before."""

    position: int
    prev_hash: str
    hash: str
    body: bytes


class TreeRows:
    """The log's entries and the stored subtrees of its tree."""

    def __init__(self, backend: LogBackend, projections: ProjectionPositions) -> None:
        self._backend = backend
        self._projections = projections

    async def entries(self, first: int, end: int) -> list[Entry]:
        """The stored entries of leaves [first, end), those there, in order."""
        return [
            (row.position, bytes(row.body))
            for row in await self._backend.rows(_entries(first, end))
        ]

    async def chained(self, first: int, end: int) -> list[ChainedEntry]:
        """The entries of leaves [first, end) with their chain hashes, those there, in order."""
        rows = await self._backend.rows(
            select(events.c.position, events.c.prev_hash, events.c.hash, events.c.body)
            .where(events.c.position > first, events.c.position <= end)
            .order_by(events.c.position)
        )
        return [
            ChainedEntry(row.position, row.prev_hash, row.hash, bytes(row.body)) for row in rows
        ]

    async def chain_hash_at(self, position: int) -> str | None:
        """The chain hash of the event at `position`; None when there is none."""
        rows = await self._backend.rows(select(events.c.hash).where(events.c.position == position))
        return str(rows[0].hash) if rows else None

    async def subtrees(self, nodes: Collection[Node]) -> dict[Node, bytes]:
        """The stored hashes of these subtrees, those stored."""
        if not nodes:
            return {}
        return _hashes(await self._backend.rows(_subtrees(nodes)))

    async def row_of_subtrees(self, level: int, first: int, end: int) -> list[bytes]:
        """The stored hashes of level `level`'s subtrees of indexes [first, end), those stored,
        in order."""
        rows = await self._backend.rows(
            select(merkle_subtrees.c.hash)
            .where(
                merkle_subtrees.c.level == level,
                merkle_subtrees.c.idx >= first,
                merkle_subtrees.c.idx < end,
            )
            .order_by(merkle_subtrees.c.idx)
        )
        return [bytes.fromhex(row.hash) for row in rows]

    async def read_together(
        self, ranges: Sequence[tuple[int, int]], nodes: Collection[Node]
    ) -> tuple[list[list[Entry]], dict[Node, bytes]]:
        """The entries of each range of leaves [first, end), and the stored hashes of these
        subtrees, read on one connection."""
        queries = [_entries(first, end) for first, end in ranges]
        if nodes:
            queries.append(_subtrees(nodes))
        if not queries:
            return [], {}
        async with self._backend.reading() as connection:
            found = [(await connection.execute(query)).all() for query in queries]
        hashes = _hashes(found.pop()) if nodes else {}
        return [[(row.position, bytes(row.body)) for row in rows] for rows in found], hashes

    async def keep(self, name: str, size: int, end: int, new: Sequence[tuple[Node, bytes]]) -> bool:
        """Store the subtrees completed by leaves [size, end) and move the tree's projection
        `name` from `size` to `end`, in one transaction; False, and nothing written, when
        another runner moved it first."""
        rows = [
            {"level": level, "idx": index, "hash": digest.hex()} for (level, index), digest in new
        ]
        return await self._projections.advance(name, size, end, [(merkle_subtrees, rows)])


def _entries(first: int, end: int) -> Select[Any]:
    return (
        select(events.c.position, events.c.body)
        .where(events.c.position > first, events.c.position <= end)
        .order_by(events.c.position)
    )


def _subtrees(nodes: Collection[Node]) -> Select[Any]:
    """Rows of these (level, index) pairs, as a condition each database answers from the
    primary key (a row-value IN is scanned by SQLite)."""
    by_level: dict[int, list[int]] = {}
    for level, index in nodes:
        by_level.setdefault(level, []).append(index)
    condition: ColumnElement[bool] = or_(
        *(
            and_(merkle_subtrees.c.level == level, merkle_subtrees.c.idx.in_(sorted(indexes)))
            for level, indexes in sorted(by_level.items())
        )
    )
    return select(merkle_subtrees).where(condition)


def _hashes(rows: Sequence[Any]) -> dict[Node, bytes]:
    return {(row.level, row.idx): bytes.fromhex(row.hash) for row in rows}
