"""Audit-grade verification of the whole log in constant memory; reports the first break exactly.

Every hash is recomputed from the stored bytes (never re-serialised): the global chain, each
decision's stream links and versions, positions without gaps up to the recorded head, and the
columns against the hashed body, and that every event id is the one derived from its decision and
version (which, stream versions being unique, keeps ids unique). A large log is
checked in position ranges by worker processes (one per core), merged into the same report a
single pass gives.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict

from audit.chain_check import BreakReason, LogBreak, RangeOutcome, check_range
from audit.verify_ranges import check_in_processes
from store.hashing import GENESIS_HASH

if TYPE_CHECKING:
    from store.eventstore import EventStore

__all__ = ["BreakReason", "LogBreak", "VerificationReport", "verify_log"]

PARALLEL_FROM: Final = 200_000
"""Below this many events, starting worker processes costs more than it saves."""


class VerificationReport(BaseModel):
    """The outcome of verifying the log: how far it was checked and its first break, if any."""

    model_config = ConfigDict(frozen=True)

    events_checked: int
    head_position: int
    head_hash: str
    first_break: LogBreak | None

    @property
    def ok(self) -> bool:
        """True when every event was checked and nothing is broken."""
        return self.first_break is None


async def verify_log(
    store: EventStore,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int | None = None,
) -> VerificationReport:
    """Verify the whole log and report its first break (see the module's docstring).

    Memory is constant in the number of events and proportional to the number of decisions.
    `progress` is called with the number of events checked so far. `workers` processes share
    the work (default: one per core, up to 4, for logs of PARALLEL_FROM events or more).
    """
    head_position, _ = await store.head()
    if workers is None:
        cores = min(os.cpu_count() or 1, 4)
        workers = cores if head_position >= PARALLEL_FROM else 1
    if workers > 1 and head_position >= 2 * workers:
        return merged_report(await check_in_processes(store, workers, progress))
    async with store.snapshot() as snapshot:
        return merged_report([await check_range(snapshot, progress=progress)])


def merged_report(outcomes: Sequence[RangeOutcome]) -> VerificationReport:
    """One report from consecutive ranges: the first break of the first broken range, where
    each range's streams continue the tails that the ranges before it left."""
    head = outcomes[-1].head
    assert head is not None, "the last range reads the head"
    streams: dict[str, tuple[int, str]] = {}
    checked = 0
    for outcome in outcomes:
        breaks = [outcome.log_break] if outcome.log_break is not None else []
        for decision_id, (position, version, link) in sorted(
            outcome.first_seen.items(), key=lambda item: item[1][0]
        ):
            known_version, known_hash = streams.get(decision_id, (0, GENESIS_HASH))
            if version != known_version + 1 or link != known_hash:
                breaks.append(_stream_break(decision_id, position, version, link, streams))
                break
        if breaks:
            first = min(breaks, key=lambda log_break: log_break.position)
            return VerificationReport(
                events_checked=checked + max(0, first.position - outcome.start),
                head_position=head[0],
                head_hash=head[1],
                first_break=first,
            )
        checked += outcome.checked
        streams.update(outcome.streams)
    return VerificationReport(
        events_checked=checked, head_position=head[0], head_hash=head[1], first_break=None
    )


def _stream_break(
    decision_id: str,
    position: int,
    version: int,
    link: str,
    streams: dict[str, tuple[int, str]],
) -> LogBreak:
    known_version, known_hash = streams.get(decision_id, (0, GENESIS_HASH))
    if version != known_version + 1:
        return LogBreak(
            position=position,
            reason=BreakReason.STREAM_VERSION_GAP,
            message=f"decision {decision_id} goes from version {known_version} to {version}",
        )
    return LogBreak(
        position=position,
        reason=BreakReason.STREAM_LINK_MISMATCH,
        message=f"stream_prev_hash {link} is not the hash {known_hash} of decision "
        f"{decision_id} v{known_version}",
    )
