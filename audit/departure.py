"""Where a rewritten log departs from a checkpoint it no longer extends.

A checkpoint alone holds only a root: with the tiles saved with it (their entry bundles), the
first position whose entry differs from today's is found exactly, both sides shown; without
them, the checkpoints the store kept bound it (the last kept one that today's tree still has,
the first it no longer has)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Final

import orjson

from audit import merkle
from audit.checkpoint import Checkpoint, open_checkpoint
from audit.note import Verifier
from audit.tiles import WIDTH, tile_path
from audit.tree import Frontier, StoredTree
from domain.errors import InvalidInput
from store.eventstore import EventStore

_KEPT_PAGE: Final = 500


def bundle_entries(data: bytes, where: str) -> list[bytes]:
    """The entries of a tlog-tiles entry bundle (each a 2-byte big-endian length, then bytes)."""
    entries, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise InvalidInput("tiles", f"{where} ends inside an entry's length")
        size = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + size > len(data):
            raise InvalidInput("tiles", f"{where} ends inside an entry of {size} bytes")
        entries.append(data[at + 2 : at + 2 + size])
        at += 2 + size
    return entries


def saved_bundles(tiles: Path, size: int) -> Iterator[list[bytes]]:
    """The first `size` entries from the entry bundles saved under `tiles`, a bundle at a time;
    a bundle written later in full stands for the partial one the checkpoint had."""
    for index in range(-(-size // WIDTH)):
        width = min(WIDTH, size - index * WIDTH)
        candidates = [
            tiles / tile_path("entries", index, width),
            tiles / tile_path("entries", index, WIDTH),
        ]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            raise InvalidInput(
                "tiles", f"{tiles} has no entry bundle {tile_path('entries', index, width)}"
            )
        entries = bundle_entries(found.read_bytes(), str(found))
        if len(entries) < width:
            raise InvalidInput("tiles", f"{found} holds {len(entries)} entries, not {width}")
        yield entries[:width]


def described(entry: bytes) -> str:
    """An entry as an auditor reads it: the event's type, decision, version and instant."""
    try:
        event = orjson.loads(entry)
        return (
            f"{event['type']} of {event['decision_id']} v{event['stream_version']} "
            f"(occurred {event['occurred_at']})"
        )
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return f"the bytes {entry[:60]!r}"


async def from_tiles(tree: StoredTree, old: Checkpoint, tiles: Path) -> str:
    """The first position at which today's stored entries differ from those saved in `tiles`,
    which must be the checkpoint `old`'s (their tree has its root)."""
    frontier = Frontier()
    first_difference: str | None = None
    for saved in saved_bundles(tiles, old.size):
        start = frontier.size
        for entry in saved:
            frontier.append(merkle.leaf_hash(entry))
        if first_difference is not None:
            continue
        today = await tree.entries(start, frontier.size)
        for offset, entry in enumerate(saved):
            position = start + offset + 1
            if offset >= len(today):
                first_difference = (
                    f"today's log ends at position {position - 1}; the checkpoint's has "
                    f"{described(entry)} at {position}"
                )
                break
            if today[offset] != entry:
                first_difference = (
                    f"it departs at position {position}: the checkpoint's log has "
                    f"{described(entry)} there, today's {described(today[offset])}"
                )
                break
    if frontier.root() != old.root:
        raise InvalidInput(
            "tiles", f"the entries in {tiles} are not those of the checkpoint of {old.size}"
        )
    return first_difference or "its entries are the checkpoint's, but its stored tree is not"


async def from_kept(tree: StoredTree, store: EventStore, old: Checkpoint, key: Verifier) -> str:
    """What the checkpoints the store kept (those the log's key signed) say of where today's
    log departs from `old`."""
    unchanged, changed, after = 0, old.size, 0
    while page := await store.checkpoints.after(after, _KEPT_PAGE):
        after = page[-1].position
        for kept in page:
            try:
                signed = open_checkpoint(kept.signed, key)
            except InvalidInput:
                continue
            if not 0 < signed.size <= old.size:
                continue
            if await tree.root(signed.size) == signed.root:
                unchanged = max(unchanged, signed.size)
            else:
                changed = min(changed, signed.size)
    if unchanged >= changed:
        return "the checkpoints the store kept disagree with each other"
    return (
        f"it departs between positions {unchanged + 1} and {changed}"
        + (f" (the log as kept at {unchanged} events is unchanged)" if unchanged else "")
        + "; give --tiles (the tiles saved with the checkpoint) for the exact position"
    )
