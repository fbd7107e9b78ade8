"""The log's published checkpoints, kept append-only: one per tree size, its root hash and the
signed note as it was published, so an auditor can later ask for any of them.

A tree size has one root for as long as the log is append-only: a checkpoint offered again for
a kept size is the kept one, and a different root for it is InvalidHistory, the log rewritten.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import InvalidHistory, InvalidInput
from store.backends import LogBackend
from store.engine import insert_unless_present
from store.hashing import format_instant, parse_instant
from store.schema import checkpoint_cosignatures, checkpoints


class KeptCheckpoint(BaseModel):
    """A published checkpoint as kept: numbered in the order kept (increasing, not always
    gap-free), the tree's size and root hash (hex), the signed note."""

    model_config = ConfigDict(frozen=True)

    position: int
    size: int
    root: str
    signed: str
    created_at: datetime


async def keep(connection: AsyncConnection, size: int, root: bytes, signed: str) -> KeptCheckpoint:
    """Keep the checkpoint of the tree of `size` in the connection's writing transaction; the
    kept one if that size is kept already with the same root, InvalidHistory if with another."""
    if size < 0:
        raise InvalidInput("size", "a tree size is at least 0")
    if len(root) != 32:
        raise InvalidInput("root", "a root hash is 32 bytes")
    if not signed.strip():
        raise InvalidInput("signed", "the signed note is empty")
    kept = await _of_size(connection, size)
    if kept is None:
        row = {
            "size": size,
            "root": root.hex(),
            "signed": signed,
            "created_at": format_instant(datetime.now(UTC)),
        }
        await connection.execute(
            insert_unless_present(connection.dialect.name, checkpoints, ["size"], row)
        )
        kept = await _of_size(connection, size)
        assert kept is not None
    if kept.root != root.hex():
        raise InvalidHistory(
            f"the tree of {size} has root {root.hex()}, but the checkpoint #{kept.position} "
            f"kept for that size has {kept.root}: the log was rewritten"
        )
    return kept


async def kept_after(
    connection: AsyncConnection, after: int = 0, limit: int = 100
) -> list[KeptCheckpoint]:
    """Up to `limit` kept checkpoints past position `after`, oldest first."""
    if limit < 1:
        raise InvalidInput("limit", "must be at least 1")
    rows = await connection.execute(
        select(checkpoints)
        .where(checkpoints.c.position > after)
        .order_by(checkpoints.c.position)
        .limit(limit)
    )
    return [_kept(dict(row._mapping)) for row in rows]


async def latest(connection: AsyncConnection) -> KeptCheckpoint | None:
    """The checkpoint kept last; None before the first."""
    row = (
        await connection.execute(
            select(checkpoints).order_by(checkpoints.c.position.desc()).limit(1)
        )
    ).first()
    return None if row is None else _kept(dict(row._mapping))


async def _of_size(connection: AsyncConnection, size: int) -> KeptCheckpoint | None:
    row = (await connection.execute(select(checkpoints).where(checkpoints.c.size == size))).first()
    return None if row is None else _kept(dict(row._mapping))


def _kept(row: dict[str, Any]) -> KeptCheckpoint:
    return KeptCheckpoint(
        position=int(row["position"]),
        size=int(row["size"]),
        root=str(row["root"]),
        signed=str(row["signed"]),
        created_at=parse_instant(str(row["created_at"])),
    )


class Cosignature(BaseModel):
    """A witness's cosignature of a kept checkpoint: the witness (`<name>+<key id hex>`), the
    note signature line it returned, and the time it says it cosigned at."""

    model_config = ConfigDict(frozen=True)

    size: int
    witness: str
    line: str
    cosigned_at: datetime


async def keep_cosignatures(connection: AsyncConnection, cosignatures: list[Cosignature]) -> None:
    """Keep witnesses' cosignatures; one already kept for a size and witness stays as it was."""
    for cosignature in cosignatures:
        if not cosignature.line.startswith("\u2014 ") or not cosignature.line.endswith("\n"):
            raise InvalidInput("line", "a cosignature is one note signature line")
        row = {
            "size": cosignature.size,
            "witness": cosignature.witness,
            "line": cosignature.line,
            "cosigned_at": format_instant(cosignature.cosigned_at),
        }
        await connection.execute(
            insert_unless_present(
                connection.dialect.name, checkpoint_cosignatures, ["size", "witness"], row
            )
        )


async def cosignatures_of(connection: AsyncConnection, size: int) -> list[Cosignature]:
    """The cosignatures kept for the checkpoint of `size`, by witness."""
    rows = await connection.execute(
        select(checkpoint_cosignatures)
        .where(checkpoint_cosignatures.c.size == size)
        .order_by(checkpoint_cosignatures.c.witness)
    )
    return [_cosignature(dict(row._mapping)) for row in rows]


async def witnessed_sizes(connection: AsyncConnection) -> dict[str, int]:
    """Each witness's largest cosigned size: the old size to send it next."""
    rows = await connection.execute(
        select(
            checkpoint_cosignatures.c.witness, func.max(checkpoint_cosignatures.c.size)
        ).group_by(checkpoint_cosignatures.c.witness)
    )
    return {str(witness): int(size) for witness, size in rows}


def _cosignature(row: dict[str, Any]) -> Cosignature:
    return Cosignature(
        size=int(row["size"]),
        witness=str(row["witness"]),
        line=str(row["line"]),
        cosigned_at=parse_instant(str(row["cosigned_at"])),
    )


class Checkpoints:
    """The checkpoints published and the witnesses' cosignatures, in the store."""

    def __init__(self, backend: LogBackend) -> None:
        self._backend = backend

    async def keep(self, size: int, root: bytes, signed: str) -> KeptCheckpoint:
        """Keep a published checkpoint of the tree of `size` (root hash, signed note); a size
        kept already is not kept twice: the kept one, or InvalidHistory if its root differs."""
        async with self._backend.writing() as connection:
            return await keep(connection, size, root, signed)

    async def after(self, after: int = 0, limit: int = 100) -> list[KeptCheckpoint]:
        """Up to `limit` kept checkpoints past position `after`, oldest first."""
        async with self._backend.reading() as connection:
            return await kept_after(connection, after, limit)

    async def latest(self) -> KeptCheckpoint | None:
        """The checkpoint kept last; None before the first."""
        async with self._backend.reading() as connection:
            return await latest(connection)

    async def keep_cosignatures(self, cosignatures: list[Cosignature]) -> None:
        """Keep witnesses' cosignatures of kept checkpoints (one per size and witness)."""
        async with self._backend.writing() as connection:
            await keep_cosignatures(connection, cosignatures)

    async def cosignatures(self, size: int) -> list[Cosignature]:
        """The witnesses' cosignatures kept for the checkpoint of `size`."""
        async with self._backend.reading() as connection:
            return await cosignatures_of(connection, size)

    async def witnessed_sizes(self) -> dict[str, int]:
        """Each witness's largest cosigned checkpoint size."""
        async with self._backend.reading() as connection:
            return await witnessed_sizes(connection)
