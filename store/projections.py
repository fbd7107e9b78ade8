"""Read models kept from the log: a runner applies new events in order, tracked per projection,
and parks a decision whose event it cannot apply instead of stopping there."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Final, Protocol, runtime_checkable

import structlog
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import NotFound
from store.eventstore import EventStore
from store.leases import LeaseKeeper
from store.records import StoredEvent
from store.tracking import ProjectionFailure, UnappliedEvents, failure_now

DEFAULT_BATCH_SIZE: Final = 500


class Projection(Protocol):
    """A read model: the tables it owns and how a batch of log events changes them."""

    @property
    def name(self) -> str:
        """The key of its position in `projection_positions`; stable across releases."""
        ...

    @property
    def tables(self) -> Sequence[Table]:
        """The tables it owns, emptied on rebuild."""
        ...

    async def apply(self, connection: AsyncConnection, batch: Sequence[StoredEvent]) -> None:
        """Apply log events in log order (those of parked decisions left out), in the runner's
        transaction; InvalidHistory for an event that cannot be applied."""
        ...


@runtime_checkable
class Keeper(Protocol):
    """A read model that reads the log itself, outside any lock, and holds the database's write
    lock only to store what it made and move its position (checked unmoved), so that appends
    are not kept waiting while it works (audit.tree's Merkle tree)."""

    @property
    def name(self) -> str: ...

    @property
    def tables(self) -> Sequence[Table]: ...

    async def keep_up(self, store: EventStore, batch_size: int) -> int:
        """Apply every event appended since its position, `batch_size` at a time; the number
        applied. InvalidHistory when the log cannot be applied (nothing is parked)."""
        ...


_log = structlog.get_logger(__name__)


class ProjectionRunner:
    """Applies the log to read models: each batch and its new position commit together, so a
    crash or a second runner never applies an event twice, and `rebuild` replays from zero.

    An event that cannot be read or applied parks its decision: the failure (position, reason)
    is logged and recorded (`failures`), that decision's later events are skipped, and every
    other decision stays current.
    """

    def __init__(
        self,
        store: EventStore,
        projections: Sequence[Projection | Keeper],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self.store = store
        self.projections = {projection.name: projection for projection in projections}
        self.batch_size = batch_size

    async def position(self, name: str) -> int:
        """The last log position the projection has applied (0 before its first run)."""
        self._projection(name)
        return await self.store.projections.position(name)

    async def failures(self, name: str) -> list[ProjectionFailure]:
        """The events the projection could not apply, whose decisions it parked."""
        self._projection(name)
        return await self.store.projections.failures(name)

    async def catch_up(self) -> int:
        """Apply every event appended since each projection's position; the number applied."""
        return sum([await self._catch_up(projection) for projection in self.projections.values()])

    async def follow(self, interval: float = 0.5, lease: LeaseKeeper | None = None) -> None:
        """Keep every projection caught up with the log until cancelled; a failed pass is logged
        and retried, so a read model lags rather than stops. With `lease`, only while this
        process holds it: it beats at every pass, and stands by while another holds it."""
        while True:
            # A pass is never cut off inside its transaction: cancelled, the follower lets the
            # pass end (commit or roll back) before it stops, so no connection is left holding
            # the database's write lock and the next writer (a final catch-up) is not blocked.
            current = asyncio.ensure_future(self._pass(lease))
            try:
                await asyncio.shield(current)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await current
                raise
            except Exception as error:
                _log.warning("read models lag", error=str(error))
            await asyncio.sleep(interval)

    async def _pass(self, lease: LeaseKeeper | None) -> None:
        if lease is not None:
            held = lease.holding
            if not await lease.keep():
                if held:
                    _log.warning("projector lost its lease: standing by", lease=lease.name)
                return
            if not held:
                _log.info("projector holds its lease: following the log", lease=lease.name)
        await self.catch_up_each()

    async def catch_up_each(self) -> None:
        """Catch each projection up in turn, apart: one that cannot go on (a channel it tells
        is down) is logged and holds none of the others back. One already at the log's head
        is not asked (a projector with nothing to do reads one row per projection)."""
        lags = await self.store.projections.lags()
        for projection in self.projections.values():
            if lags.get(projection.name, 1) <= 0:
                continue
            try:
                await self._catch_up(projection)
            except Exception as error:
                _log.warning("a read model lags", projection=projection.name, error=str(error))

    async def rebuild(self, name: str) -> int:
        """Empty the projection's tables, forget the decisions it parked, and replay the whole
        log into them; the events applied."""
        projection = self._projection(name)
        await self.store.projections.reset(name, projection.tables)
        return await self._catch_up(projection)

    async def _catch_up(self, projection: Projection | Keeper) -> int:
        if isinstance(projection, Keeper):
            return await projection.keep_up(self.store, self.batch_size)
        applied = 0
        singly = 0  # events left to apply one at a time, to find the one a batch failed on
        while True:
            limit = 1 if singly else self.batch_size
            try:
                count = await self.store.projections.apply(projection.name, projection.apply, limit)
            except UnappliedEvents as unapplied:
                if len(unapplied.events) > 1:
                    singly = len(unapplied.events)
                else:
                    await self._park(projection.name, unapplied)
                    singly = max(0, singly - 1)
                continue
            applied += count
            singly = max(0, singly - count)
            if count < limit:
                return applied

    async def _park(self, name: str, unapplied: UnappliedEvents) -> None:
        ((position, decision_id),) = unapplied.events
        _log.error(
            "read model parks a decision at an event it cannot apply",
            projection=name,
            decision_id=decision_id,
            position=position,
            error=unapplied.reason,
        )
        await self.store.projections.park(
            name, failure_now(position, decision_id, unapplied.reason)
        )

    def _projection(self, name: str) -> Projection | Keeper:
        try:
            return self.projections[name]
        except KeyError:
            raise NotFound(f"no projection named {name!r}") from None
