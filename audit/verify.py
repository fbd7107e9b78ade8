"""Audit-grade verification of the whole log in constant memory; reports the first break exactly.

Every hash is recomputed from the stored bytes (never re-serialised): the global chain, each
decision's stream links and versions, positions without gaps up to the recorded head, and the
columns against the hashed body, and that every event id is the one derived from its decision and
version (which, stream versions being unique, keeps ids unique). The same pass folds the
entries into the Merkle roots of their blocks of 16, against which every stored subtree of the
log's tree (audit.tree) is then compared. A large log is checked in position ranges by worker
processes (one per core), merged into the same report a single pass gives. The side logs
(store.side_logs: refusals, access events) are checked the same way: every hash and link
recomputed, positions without gaps up to each log's recorded head.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict

from audit.answers import AnswersReport, check_answers
from audit.chain_check import BreakReason, Broken, LogBreak, RangeOutcome, check_range
from audit.keys import registry_break
from audit.merkle import BLOCK_HEIGHT, joined_blocks
from audit.tree import TREE, compare_stored
from audit.verify_ranges import check_in_processes
from domain.council import KEYS_STREAM
from store.hashing import GENESIS_HASH, chain_hash
from store.side_logs import ACCESS_EVENTS, REFUSALS, SideLog, SideLogBook, hashed_body

if TYPE_CHECKING:
    from store.eventstore import EventStore
    from store.records import StoredEvent

__all__ = [
    "BreakReason",
    "LogBreak",
    "SideLogReport",
    "VerificationReport",
    "stream_break",
    "verify_log",
    "verify_side_log",
]

PARALLEL_FROM: Final = 200_000
"""Below this many events, starting worker processes costs more than it saves."""

SIDE_LOG_PAGE_SIZE: Final = 1_000
KEY_REGISTRY: Final = "key_registry"
ANSWERS: Final = "answers"


class VerificationReport(BaseModel):
    """The outcome of verifying the log: how far it was checked and its first break, if any."""

    model_config = ConfigDict(frozen=True)

    events_checked: int
    head_position: int
    head_hash: str
    first_break: LogBreak | None
    refusals_checked: int = 0
    refusals_break: LogBreak | None = None
    access_events_checked: int = 0
    access_events_break: LogBreak | None = None
    tree_size: int = 0
    """The leaves of the stored Merkle tree compared with the tree recomputed from the log."""
    tree_break: LogBreak | None = None
    key_changes_checked: int = 0
    """The key registry's changes decided again from their signatures (audit.keys)."""
    key_registry_break: LogBreak | None = None
    answers_signed: int = 0
    """Members' answers signed by the member's key in force (audit.answers)."""
    answers_unsigned: int = 0
    """Members' answers recorded without a signature: they rest on whoever recorded them."""
    answers_break: LogBreak | None = None
    """The first answer carrying a signature that is not its member's."""

    @property
    def breaks(self) -> dict[str, LogBreak]:
        """The first break of each broken log: "events", "refusals", "access_events", of the
        Merkle tree, "merkle_tree", of the key registry's signatures, "key_registry", and of
        the members' signed answers, "answers"."""
        found = {
            "events": self.first_break,
            REFUSALS.name: self.refusals_break,
            ACCESS_EVENTS.name: self.access_events_break,
            TREE: self.tree_break,
            KEY_REGISTRY: self.key_registry_break,
            ANSWERS: self.answers_break,
        }
        return {log: log_break for log, log_break in found.items() if log_break is not None}

    @property
    def ok(self) -> bool:
        """True when every event and side record was checked and nothing is broken."""
        return not self.breaks


class SideLogReport(BaseModel):
    """The outcome of verifying a side log: how many records verified, and its first break."""

    model_config = ConfigDict(frozen=True)

    checked: int
    first_break: LogBreak | None


async def verify_log(
    store: EventStore,
    progress: Callable[[int], None] | None = None,
    *,
    workers: int | None = None,
    origin: str | None = None,
) -> VerificationReport:
    """Verify the whole log and the side logs, and report each one's first break (see the
    module's docstring).

    Memory is constant in the number of events and proportional to the number of decisions.
    `progress` is called with the number of events checked so far. `workers` processes share
    the work (default: one per core, up to 4, for logs of PARALLEL_FROM events or more).
    With the log's `origin` (its checkpoints' first line, which members' keys sign for), every
    change of the key registry is also decided again from its signatures, and every member's
    signed answer checked against the registry (audit.answers).
    """
    async with store.snapshot() as snapshot:
        head_position, _ = await snapshot.head()
        if workers is None:
            cores = min(os.cpu_count() or 1, 4)
            workers = cores if head_position >= PARALLEL_FROM else 1
        if workers > 1 and head_position >= 2 * workers:
            outcomes = await check_in_processes(store, snapshot, workers, progress)
        else:
            outcomes = [await check_range(snapshot, progress=progress)]
        report = merged_report(outcomes)
        blocks = joined_blocks([outcome.tree for outcome in outcomes], BLOCK_HEIGHT)
        tree_size, tree_break = await compare_stored(
            snapshot, blocks, report.events_checked, whole=report.first_break is None
        )
    refusals = await verify_side_log(store.refusals)
    access_events = await verify_side_log(store.access)
    key_changes = await store.stream(KEYS_STREAM) if origin is not None else []
    said = await check_answers(store, origin) if origin is not None else AnswersReport()
    return report.model_copy(
        update={
            "refusals_checked": refusals.checked,
            "refusals_break": refusals.first_break,
            "access_events_checked": access_events.checked,
            "access_events_break": access_events.first_break,
            "tree_size": tree_size,
            "tree_break": tree_break,
            "key_changes_checked": len(key_changes),
            "key_registry_break": registry_break(key_changes, origin) if origin else None,
            "answers_signed": said.signed,
            "answers_unsigned": said.unsigned,
            "answers_break": said.first_break,
        }
    )


async def verify_side_log(book: SideLogBook[Any, Any]) -> SideLogReport:
    """Recompute every hash and link of a side log in one snapshot, up to its recorded head;
    report how many records verified and the first break."""
    log, checked, hash_ = book.log, 0, GENESIS_HASH
    try:
        async with book.view() as view:
            head_position, head_hash = await view.head()
            async for page in view.pages(SIDE_LOG_PAGE_SIZE):
                for row in page:
                    hash_ = _side_record_hash(log, row, checked, hash_, head_position)
                    checked += 1
        if checked < head_position:
            raise Broken(
                checked + 1,
                BreakReason.MISSING_POSITION,
                f"position {checked + 1} is missing: the head is at {head_position}",
            )
        if hash_ != head_hash:
            raise Broken(
                checked,
                BreakReason.HEAD_MISMATCH,
                f"the head records hash {head_hash}, the {log.name} log ends with {hash_}",
            )
    except Broken as broken:
        return SideLogReport(checked=checked, first_break=broken.log_break)
    return SideLogReport(checked=checked, first_break=None)


def stream_break(stream: Sequence[StoredEvent]) -> LogBreak | None:
    """The first break in one decision's events alone: each one's hash recomputed from its
    stored bytes and its recorded predecessor, its version and its link to the decision's
    previous event. (The global chain between decisions is `verify_log`'s.)"""
    link, version = GENESIS_HASH, 0
    for event in stream:
        if event.stream_version != version + 1:
            return LogBreak(
                position=event.position,
                reason=BreakReason.STREAM_VERSION_GAP,
                message=f"version {version} is followed by {event.stream_version}",
            )
        if event.stream_prev_hash != link:
            return LogBreak(
                position=event.position,
                reason=BreakReason.STREAM_LINK_MISMATCH,
                message=f"it links to {event.stream_prev_hash}, not to {link}",
            )
        computed = chain_hash(event.prev_hash, event.body)
        if computed != event.hash:
            return LogBreak(
                position=event.position,
                reason=BreakReason.HASH_MISMATCH,
                message=f"its bytes hash to {computed}, not the recorded {event.hash}",
            )
        link, version = event.hash, event.stream_version
    return None


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


def _side_record_hash(
    log: SideLog[Any, Any], row: dict[str, Any], last: int, last_hash: str, head_position: int
) -> str:
    """The recomputed hash of a side log's row, which must follow position `last`, whose hash
    is `last_hash`; Broken when it does not."""
    position = row["position"]
    expected = last + 1
    if position != expected and expected <= head_position:
        raise Broken(
            expected,
            BreakReason.MISSING_POSITION,
            f"position {expected} is missing: the next row is at {position}",
        )
    if position > head_position:
        raise Broken(
            position,
            BreakReason.BEYOND_HEAD,
            f"a row at position {position} lies beyond the head at {head_position}",
        )
    try:
        body = hashed_body(log, row)
    except (TypeError, ValueError) as error:
        raise Broken(
            position, BreakReason.MALFORMED_BODY, f"the {log.noun} cannot be hashed: {error}"
        ) from None
    if row["prev_hash"] != last_hash:
        raise Broken(
            position,
            BreakReason.PREV_HASH_MISMATCH,
            f"prev_hash {row['prev_hash']} is not the hash {last_hash} of position {last}",
        )
    computed = chain_hash(last_hash, body)
    if computed != row["hash"]:
        raise Broken(
            position,
            BreakReason.HASH_MISMATCH,
            f"the {log.noun} hashes to {computed}, not the recorded {row['hash']}: content changed",
        )
    return computed
