"""The rules verification applies to raw log rows, page by page, from genesis or a given row."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import operator
import typing
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import msgspec
import orjson
from pydantic import BaseModel, ConfigDict

from audit import merkle
from store.backends import LogPages
from store.hashing import GENESIS_HASH, chain_digest, chain_hash
from store.records import event_id_for
from store.schema import LOG_COLUMNS, LogRow

PAGE_SIZE: Final = 20_000

# Raw rows are read by the index of each name in LOG_COLUMNS (store.schema.LogRow's fields):
# building a LogRow of each of a million rows would cost verification a quarter of its time.
_POSITION: Final = LOG_COLUMNS.index("position")
_EVENT_ID: Final = LOG_COLUMNS.index("event_id")
_DECISION_ID: Final = LOG_COLUMNS.index("decision_id")
_STREAM_VERSION: Final = LOG_COLUMNS.index("stream_version")
_STREAM_PREV_HASH: Final = LOG_COLUMNS.index("stream_prev_hash")
_PREV_HASH: Final = LOG_COLUMNS.index("prev_hash")
_HASH: Final = LOG_COLUMNS.index("hash")
_BODY: Final = LOG_COLUMNS.index("body")
_REPEATED: Final = slice(_EVENT_ID, _STREAM_PREV_HASH + 1)
"""The columns that repeat a value of the hashed body, under the same name."""
_REPEATED_NAMES: Final = LOG_COLUMNS[_REPEATED]
_REPEATED_IN_BODY: Final = operator.itemgetter(*_REPEATED_NAMES)
if _POSITION != 0 or {_PREV_HASH, _HASH, _BODY} & set(range(len(LOG_COLUMNS))[_REPEATED]):
    raise TypeError(f"the columns that repeat the body do not follow the position in {LOG_COLUMNS}")
_HEADER: Final = slice(_POSITION, _REPEATED.stop)
"""The position and the columns that repeat the body: the values of the body's header."""
_HEADER_TYPES: Final = typing.get_type_hints(LogRow)
_HEADER_DECODER: Final = msgspec.json.Decoder(
    msgspec.defstruct("LogHeader", [(name, _HEADER_TYPES[name]) for name in LOG_COLUMNS[_HEADER]])
)
"""Decodes only a body's header, in column order, skipping its payload: a third of the cost of
parsing the whole body (a mismatch is then explained from the whole body, by `_header_break`)."""


class BreakReason(StrEnum):
    """Why the log stops being trustworthy at a position."""

    MISSING_POSITION = "missing_position"
    """No row at a position below the head: a row was deleted (or renumbered away)."""
    BEYOND_HEAD = "beyond_head"
    """A row past the recorded head: it was added outside the store."""
    HEAD_MISMATCH = "head_mismatch"
    """The head row records another hash than the last event's."""
    MALFORMED_BODY = "malformed_body"
    """The stored bytes are not a JSON object."""
    INSERTED_ROW = "inserted_row"
    """A row that the rest of the chain does not link through was put in at this position."""
    POSITION_MISMATCH = "position_mismatch"
    """The body was hashed for another position: rows were swapped, moved or deleted."""
    COLUMN_MISMATCH = "column_mismatch"
    """A column disagrees with the hashed body: the column was changed."""
    PREV_HASH_MISMATCH = "prev_hash_mismatch"
    """The row does not link to the hash of the previous position: a row was replaced or added."""
    HASH_MISMATCH = "hash_mismatch"
    """The body's hash is not the recorded hash: the content was changed."""
    STREAM_VERSION_GAP = "stream_version_gap"
    """The decision's stream versions do not run on by one."""
    STREAM_LINK_MISMATCH = "stream_link_mismatch"
    """stream_prev_hash is not the hash of the decision's previous event."""
    EVENT_ID_MISMATCH = "event_id_mismatch"
    """The event id is not the one derived from its decision and version, so it may repeat."""
    BAD_SIGNATURE = "bad_signature"
    """A signature a key registry's change carries is not its key's over its statement, or the
    change claims an authority its signatures do not give it: it was written without the key."""
    MISSING_SIGNATURE = "missing_signature"
    """A member's answer is unsigned though the council required it signed when its decision
    was proposed: it was recorded without the member's key."""
    INVALID_KEY_CHANGE = "invalid_key_change"
    """The key registry's stream holds a change its rules could not have recorded."""
    TREE_MISMATCH = "tree_mismatch"
    """A stored Merkle subtree does not hash to the entries it covers, is missing, or lies
    beyond the tree: proofs built from it would not verify."""


class LogBreak(BaseModel):
    """The first position at which the log disagrees with itself, and why."""

    model_config = ConfigDict(frozen=True)

    position: int
    reason: BreakReason
    message: str


class Broken(Exception):
    """Raised by the checker at the first inconsistent position."""

    def __init__(self, position: int, reason: BreakReason, message: str) -> None:
        super().__init__(message)
        self.log_break = LogBreak(position=position, reason=reason, message=message)


@dataclass
class RangeOutcome:
    """What checking the rows `start`..`last` (None: to the end of the log) found."""

    start: int
    last: int | None
    checked: int = 0
    streams: dict[str, tuple[int, str]] = field(default_factory=dict)
    first_seen: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    log_break: LogBreak | None = None
    head: tuple[int, str] | None = None
    tree: tuple[list[bytes], list[bytes], list[bytes]] = ([], [], [])
    """The checked entries folded into the Merkle tree's blocks: the leaf hashes before the
    first block boundary, the roots of the complete blocks, the leaf hashes after the last."""


async def check_range(
    snapshot: LogPages,
    start: int = 1,
    last: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> RangeOutcome:
    """Check the rows from `start` to `last` (to the head when None) in one snapshot."""
    outcome = RangeOutcome(start, last)
    if last is None:
        outcome.head = await snapshot.head()
    limit = outcome.head[0] if outcome.head is not None else last
    assert limit is not None
    if start == 1:
        checker = ChainChecker()
    elif (links := await snapshot.links(start - 1)) is None:
        outcome.log_break = LogBreak(
            position=start - 1,
            reason=BreakReason.MISSING_POSITION,
            message=f"position {start - 1} is missing",
        )
        return outcome
    else:
        checker = ChainChecker(start - 1, hash=links[1], link=links[0])
    try:
        pages = read_ahead(snapshot.pages(PAGE_SIZE, after=start - 1, until=last))
        async with contextlib.aclosing(pages):
            with without_cycle_collection():
                async for page in pages:
                    checker.check_page(page, limit)
                    checker.blocks.fold()
                    if progress is not None:
                        progress(checker.checked)
        if outcome.head is not None:
            checker.check_end(*outcome.head)
        else:
            checker.check_range_end(limit)
    except Broken as broken:
        outcome.log_break = broken.log_break
    checker.blocks.fold()
    outcome.tree = (checker.blocks.lead, checker.blocks.roots, checker.blocks.pending)
    outcome.checked = checker.checked
    outcome.streams = checker.streams
    outcome.first_seen = checker.first_seen or {}
    return outcome


@contextlib.contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause the cycle collector while rows are checked: rows and parsed bodies hold no cycles,
    so reference counting frees each page, and the collector would only walk the pages in hand
    over and over (a fifth of the cost of reading a row). Memory stays flat without it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def read_ahead(
    pages: AsyncIterator[Sequence[Sequence[Any]]],
) -> AsyncGenerator[Sequence[Sequence[Any]]]:
    """Yield each page while the next one is already being fetched."""
    upcoming = asyncio.ensure_future(anext(pages, None))
    try:
        while (page := await upcoming) is not None:
            upcoming = asyncio.ensure_future(anext(pages, None))
            await asyncio.sleep(0)  # let the fetch start before the caller checks this page
            yield page
    finally:
        # A fetch in flight is let finish (cancelling it would break the connection).
        await asyncio.wait([upcoming])
        if not upcoming.cancelled():
            upcoming.exception()


class ChainChecker:
    """Checks rows in position order; remembers only the last hash and each stream's tail, and
    folds the entries into the Merkle roots of their blocks (`blocks`) for the tree's check.

    Started after a stored row (`position`, its `hash` and `link` = its prev_hash) instead of at
    genesis, it does not know the streams' earlier tails: it then accepts each decision's first
    event as it finds it and records it in `first_seen`, for the caller to check the link.
    """

    def __init__(
        self, position: int = 0, hash: str = GENESIS_HASH, link: str = GENESIS_HASH
    ) -> None:
        self.checked = 0
        self.position = position
        self.hash = hash
        self.link = link  # prev_hash of the last verified row
        self.streams: dict[str, tuple[int, str]] = {}
        self.first_seen: dict[str, tuple[int, int, str]] | None = None if position == 0 else {}
        self.blocks = merkle.Blocks(merkle.BLOCK_HEIGHT, first=position)

    def check_page(self, page: Sequence[Sequence[Any]], head_position: int) -> None:
        """Check raw rows (in LOG_COLUMNS order) that follow the last row checked."""
        # A million rows pass through this loop: what it reads per row is held in locals, and
        # written back to the checker once per page (or at the break).
        decode_header = _HEADER_DECODER.decode
        header_of = msgspec.structs.astuple
        decoding_error = msgspec.MsgspecError
        derived_id = event_id_for
        leaf_hash = merkle.leaf_hash
        streams = self.streams
        first_seen = self.first_seen
        leaves = self.blocks.pending
        add_leaf = leaves.append
        position, hash_, link = self.position, self.hash, self.link
        digest = bytes.fromhex(hash_)
        checked = 0
        try:
            for row in page:
                if row[_POSITION] != position + 1 or position >= head_position:
                    self._position_break(position, row[_POSITION], head_position)
                position += 1
                body = row[_BODY]
                if type(body) is not bytes:
                    body = self._as_bytes(position, body)
                try:
                    header = header_of(decode_header(body))
                except decoding_error:
                    header = None
                if header != row[_HEADER]:
                    self._header_break(position, row, body, link)
                prev_hash = row[_PREV_HASH]
                if prev_hash != hash_:
                    raise Broken(
                        position,
                        BreakReason.PREV_HASH_MISMATCH,
                        f"prev_hash {prev_hash} is not the hash {hash_} of position {position - 1}",
                    )
                digest = chain_digest(digest, body)
                computed = digest.hex()
                if computed != row[_HASH]:
                    raise Broken(
                        position,
                        BreakReason.HASH_MISMATCH,
                        f"the body hashes to {computed}, not the recorded {row[_HASH]}: "
                        "content changed",
                    )
                decision_id = row[_DECISION_ID]
                stream_version = row[_STREAM_VERSION]
                if decision_id in streams:
                    version, stream_hash = streams[decision_id]
                elif first_seen is not None:
                    first_seen[decision_id] = (position, stream_version, row[_STREAM_PREV_HASH])
                    version, stream_hash = stream_version - 1, row[_STREAM_PREV_HASH]
                else:
                    version, stream_hash = 0, GENESIS_HASH
                if stream_version != version + 1:
                    raise Broken(
                        position,
                        BreakReason.STREAM_VERSION_GAP,
                        f"decision {decision_id} goes from version {version} to {stream_version}",
                    )
                if row[_STREAM_PREV_HASH] != stream_hash:
                    raise Broken(
                        position,
                        BreakReason.STREAM_LINK_MISMATCH,
                        f"stream_prev_hash {row[_STREAM_PREV_HASH]} is not the hash "
                        f"{stream_hash} of decision {decision_id} v{version}",
                    )
                if row[_EVENT_ID] != derived_id(decision_id, stream_version):
                    raise Broken(
                        position,
                        BreakReason.EVENT_ID_MISMATCH,
                        f"event id {row[_EVENT_ID]} is not "
                        f"{derived_id(decision_id, stream_version)}, "
                        f"the id derived from {decision_id} v{stream_version}",
                    )
                streams[decision_id] = (stream_version, computed)
                add_leaf(leaf_hash(body))
                hash_, link = computed, prev_hash
                checked += 1
        finally:
            # At a break, `position` may be the broken row's: the checker keeps the last good one.
            self.position = self.position + checked
            self.hash, self.link = hash_, link
            self.checked += checked

    @staticmethod
    def _position_break(last: int, position: int, head_position: int) -> None:
        expected = last + 1
        if position > expected and expected <= head_position:
            raise Broken(
                expected,
                BreakReason.MISSING_POSITION,
                f"position {expected} is missing: the next row is at {position}",
            )
        raise Broken(
            position,
            BreakReason.BEYOND_HEAD,
            f"a row at position {position} lies beyond the head at {head_position}",
        )

    @staticmethod
    def _as_bytes(position: int, body: Any) -> bytes:
        """The stored body as bytes; a body rewritten as text (say by an UPDATE with SQL string
        functions) is itself a break, whatever it now says."""
        if isinstance(body, bytearray | memoryview):
            return bytes(body)
        raise Broken(
            position,
            BreakReason.MALFORMED_BODY,
            f"the body is stored as {type(body).__name__}, not as the bytes that were hashed",
        )

    @classmethod
    def _header_break(cls, position: int, row: Sequence[Any], body: bytes, link: str) -> None:
        """Raise the break that a body's header differing from the row's columns shows, from
        the whole body parsed; a header that agrees with them but not as the event's fields
        are typed (an id that is a number, say) is a malformed body too."""
        try:
            document = orjson.loads(body)
            if document["position"] != position:
                cls._position_mismatch(position, document["position"], row, body, link)
            if _REPEATED_IN_BODY(document) != tuple(row[_REPEATED]):
                cls._column_mismatch(position, document, row)
            _HEADER_DECODER.decode(body)
        except (orjson.JSONDecodeError, TypeError, KeyError):
            cls._malformed(position, body)
        except msgspec.MsgspecError as error:
            raise Broken(
                position,
                BreakReason.MALFORMED_BODY,
                f"the body's header does not hold the event's fields: {error}",
            ) from None

    @staticmethod
    def _malformed(position: int, body: Any) -> None:
        raise Broken(
            position,
            BreakReason.MALFORMED_BODY,
            f"the body is not a JSON object with the event's fields: {bytes(body)[:80]!r}",
        )

    @staticmethod
    def _column_mismatch(position: int, document: dict[str, Any], row: Sequence[Any]) -> None:
        for name, value in zip(_REPEATED_NAMES, row[_REPEATED], strict=True):
            if document[name] != value:
                raise Broken(
                    position,
                    BreakReason.COLUMN_MISMATCH,
                    f"column {name} is {value!r} but the hashed body says {document[name]!r}",
                )

    @staticmethod
    def _position_mismatch(
        position: int, hashed_for: Any, row: Sequence[Any], body: bytes, link: str
    ) -> None:
        # The event hashed for the previous position sits here and chains from the same
        # predecessor as the row before it: that row is a fork nothing links through, put in.
        if (
            hashed_for == position - 1
            and row[_PREV_HASH] == link
            and chain_hash(link, body) == row[_HASH]
        ):
            raise Broken(
                position - 1,
                BreakReason.INSERTED_ROW,
                f"the row at position {position - 1} was inserted: the event hashed for "
                f"position {position - 1} follows it at {position}",
            )
        raise Broken(
            position,
            BreakReason.POSITION_MISMATCH,
            f"the row at position {position} holds the event hashed for position {hashed_for}",
        )

    def check_range_end(self, last: int) -> None:
        """The range up to `last` must have had a row at every position."""
        if self.position < last:
            raise Broken(
                self.position + 1,
                BreakReason.MISSING_POSITION,
                f"position {self.position + 1} is missing: the next row is past {last}",
            )

    def check_end(self, head_position: int, head_hash: str) -> None:
        if self.position < head_position:
            raise Broken(
                self.position + 1,
                BreakReason.MISSING_POSITION,
                f"position {self.position + 1} is missing: the head is at {head_position}",
            )
        if self.hash != head_hash:
            raise Broken(
                self.position,
                BreakReason.HEAD_MISMATCH,
                f"the head records hash {head_hash}, the log ends with {self.hash}",
            )
