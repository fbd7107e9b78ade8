"""Leases: which one process holds a role of which a deployment runs one (the read-model
projector), kept by its heartbeat, taken over by a standby when the heartbeat stops.

A lease row names its holder and counts its beats. The holder beats by adding one to the count
(only while the row still names it); a standby watches the count, and when it has not moved for
`ttl` seconds of the standby's own monotonic clock it takes the lease by a compare-and-set on
the holder and the count it saw. No two clocks are compared, so skew between machines cannot
hand the lease to two processes; a holder that was paused past `ttl` finds on its next beat
that the row names another, and stands by. The wall-clock time of the last beat is kept too,
for people and `concord doctor`, never for the decision to take over.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import delete, select, update

from store.backends import LogBackend
from store.engine import insert_unless_present
from store.hashing import format_instant, parse_instant
from store.schema import leases

DEFAULT_TTL_S: Final = 5.0
"""A holder whose count has not moved for this long is taken over: ten missed beats."""


def holder_name() -> str:
    """This process, as a lease names it: host, process id and a random part (pids recur)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LeaseRow:
    """A lease as stored: who holds it, how many times it has beaten, and when last."""

    name: str
    holder: str
    beats: int
    beat_at: datetime


class Leases:
    """The leases in the store (the `leases` table)."""

    def __init__(self, backend: LogBackend) -> None:
        self._backend = backend

    async def lease(self, name: str) -> LeaseRow | None:
        """The lease `name` as stored now; None if no process has ever held it."""
        rows = await self._backend.rows(select(leases).where(leases.c.name == name))
        if not rows:
            return None
        row = rows[0]
        return LeaseRow(row.name, row.holder, int(row.beats), parse_instant(row.beat_at))

    async def beat(self, name: str, holder: str) -> bool:
        """One beat of `holder`'s lease; False, and nothing changed, if another holds it now."""
        async with self._backend.writing() as connection:
            result = await connection.execute(
                update(leases)
                .where(leases.c.name == name, leases.c.holder == holder)
                .values(beats=leases.c.beats + 1, beat_at=_now())
            )
        return bool(result.rowcount)

    async def take(self, name: str, holder: str, seen: LeaseRow | None) -> bool:
        """Make `holder` the holder of `name`, if the lease is still as `seen` (None: if no one
        has held it yet); whether it did."""
        async with self._backend.writing() as connection:
            if seen is None:
                result = await connection.execute(
                    insert_unless_present(
                        connection.dialect.name,
                        leases,
                        ["name"],
                        {"name": name, "holder": holder, "beats": 1, "beat_at": _now()},
                    )
                )
            else:
                result = await connection.execute(
                    update(leases)
                    .where(
                        leases.c.name == name,
                        leases.c.holder == seen.holder,
                        leases.c.beats == seen.beats,
                    )
                    .values(holder=holder, beats=leases.c.beats + 1, beat_at=_now())
                )
        return bool(result.rowcount)

    async def release(self, name: str, holder: str) -> None:
        """Give the lease up (a graceful stop), so that a standby takes it at its next look."""
        async with self._backend.writing() as connection:
            await connection.execute(
                delete(leases).where(leases.c.name == name, leases.c.holder == holder)
            )


class LeaseKeeper:
    """One process's side of a lease: `keep()` once a beat says whether it holds it now."""

    def __init__(
        self, leases_: Leases, name: str, holder: str | None = None, ttl: float = DEFAULT_TTL_S
    ) -> None:
        self._leases = leases_
        self.name = name
        self.holder = holder or holder_name()
        self.ttl = ttl
        self.holding = False
        self._watched: tuple[LeaseRow | None, float] | None = None
        """The lease as last seen by this standby, and when (monotonic) it last changed."""

    async def keep(self) -> bool:
        """Beat if this process holds the lease, else look whether it may take it; whether it
        holds the lease now."""
        if self.holding:
            self.holding = await self._leases.beat(self.name, self.holder)
            if not self.holding:
                self._watched = None
            return self.holding
        seen = await self._leases.lease(self.name)
        now = time.monotonic()
        if seen is not None and seen.holder == self.holder:
            # Ours after all (a beat whose commit this process did not see): beat on.
            self.holding = await self._leases.beat(self.name, self.holder)
            return self.holding
        if self._watched is None or _moved(self._watched[0], seen):
            self._watched = (seen, now)
        still_since = self._watched[1]
        if seen is None or now - still_since >= self.ttl:
            self.holding = await self._leases.take(self.name, self.holder, seen)
            self._watched = None
        return self.holding

    async def release(self) -> None:
        if self.holding:
            await self._leases.release(self.name, self.holder)
            self.holding = False


def _moved(before: LeaseRow | None, now: LeaseRow | None) -> bool:
    if before is None or now is None:
        return before is not now
    return (before.holder, before.beats) != (now.holder, now.beats)


def _now() -> str:
    return format_instant(datetime.now(UTC))
