"""State snapshots in the store: a decision's folded state at a stream version, kept so that a
read of an old instant need not fold the stream from its start (audit.snapshots checks each
against the log before it is trusted)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select

from domain.errors import InvalidInput
from store.backends import LogBackend
from store.engine import insert_unless_present
from store.hashing import format_instant
from store.schema import state_snapshots


class StateSnapshots:
    """The `state_snapshots` table."""

    def __init__(self, backend: LogBackend) -> None:
        self._backend = backend

    async def latest(
        self, decision_id: str, instant: datetime | None, *, through: int | None = None
    ) -> Row[Any] | None:
        """The decision's latest state snapshot taken at or before `instant` (None: any time)
        and, with `through`, at or before that stream version (a raw row: the caller verifies
        it before trusting it)."""
        query = select(state_snapshots).where(state_snapshots.c.decision_id == decision_id)
        if instant is not None:
            query = query.where(state_snapshots.c.occurred_at <= stored_instant(instant))
        if through is not None:
            query = query.where(state_snapshots.c.stream_version <= through)
        rows = await self._backend.rows(
            query.order_by(state_snapshots.c.stream_version.desc()).limit(1)
        )
        return rows[0] if rows else None

    async def keep(self, rows: Sequence[dict[str, Any]]) -> None:
        """Store state snapshots; one already kept for a (decision, version) stays as it is."""
        if not rows:
            return
        async with self._backend.writing() as connection:
            for row in rows:
                await connection.execute(
                    insert_unless_present(
                        connection.dialect.name,
                        state_snapshots,
                        ["decision_id", "stream_version"],
                        row,
                    )
                )


def stored_instant(instant: datetime) -> str:
    """An instant as the store keeps it; InvalidInput for one without a timezone."""
    try:
        return format_instant(instant)
    except ValueError:
        raise InvalidInput("instant", "must be timezone-aware") from None
