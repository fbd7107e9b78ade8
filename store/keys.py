"""Idempotency keys, each reserved for the one command it was first given for: a caller's key
names one command across every decision, so a key given again for another command, on this
decision or another, is refused instead of being taken for a retry or starting a second one.

The reservation is one row per (principal, key), written before the command is sent; a
principal's first use of a key wins, whatever runs at the same time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from store.engine import insert_unless_present
from store.hashing import format_instant
from store.schema import idempotency_keys


@dataclass(frozen=True)
class KeyUse:
    """What a key was first given for."""

    decision_id: str
    kind: str
    command_digest: str


async def reserve(connection: AsyncConnection, principal: str, key: str, use: KeyUse) -> KeyUse:
    """Reserve `key` of `principal` for `use` unless it is reserved: what it is reserved for."""
    row = {
        "principal": principal,
        "idempotency_key": key,
        "decision_id": use.decision_id,
        "kind": use.kind,
        "command_digest": use.command_digest,
        "given_at": format_instant(datetime.now(UTC)),
    }
    await connection.execute(
        insert_unless_present(
            connection.dialect.name, idempotency_keys, ["principal", "idempotency_key"], row
        )
    )
    found = (
        await connection.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.principal == principal,
                idempotency_keys.c.idempotency_key == key,
            )
        )
    ).one()
    return KeyUse(found.decision_id, found.kind, found.command_digest)
