"""The log as static C2SP tlog-tiles: `checkpoint`, hash tiles `tile/<L>/<N>[.p/<W>]` of height
8 (level L holds the tree's level-8L hashes, 256 to a full tile), and entry bundles
`tile/entries/<N>[.p/<W>]` (each entry: 2-byte big-endian length, then the event's stored
bytes). Level-0 hash tiles are the leaf hashes of their entries; the higher ones are the stored
subtrees. Any tlog-tiles client verifies the log from these files and the public key alone."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from audit.tree import StoredTree
from domain.errors import InvalidInput, NotFound
from store.eventstore import EventStore

HEIGHT: Final = 8
WIDTH: Final = 1 << HEIGHT
MAX_ENTRY: Final = 0xFFFF


def index_path(n: int) -> str:
    """A tile index as the spec writes it: groups of three digits, all but the last `x`-marked."""
    digits = f"{n:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


def tile_path(level: int | str, index: int, width: int) -> str:
    partial = f".p/{width}" if width < WIDTH else ""
    return f"tile/{level}/{index_path(index)}{partial}"


@dataclass(frozen=True)
class Tile:
    level: int | None
    """The hash tile's level; None for an entry bundle."""
    index: int
    width: int

    @property
    def path(self) -> str:
        return tile_path("entries" if self.level is None else self.level, self.index, self.width)


def tiles_of(size: int) -> list[Tile]:
    """Every tile (hash tiles, then entry bundles) of a tree of `size` leaves."""
    tiles = []
    level = 0
    while size >> (HEIGHT * level) > 0:
        nodes = size >> (HEIGHT * level)
        tiles += [Tile(level, n, WIDTH) for n in range(nodes // WIDTH)]
        if nodes % WIDTH:
            tiles.append(Tile(level, nodes // WIDTH, nodes % WIDTH))
        level += 1
    tiles += [Tile(None, n, WIDTH) for n in range(size // WIDTH)]
    if size % WIDTH:
        tiles.append(Tile(None, size // WIDTH, size % WIDTH))
    return tiles


def parse_path(path: str) -> Tile:
    """The tile a request's path names; NotFound for anything else."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise NotFound(f"no tile {path}")
    width = WIDTH
    if len(parts) >= 4 and parts[-2].endswith(".p") and parts[-1].isdigit():
        width = int(parts[-1])
        parts = [*parts[:-2], parts[-2][:-2]]
    level_part, *groups = parts[1:]
    if not groups or not all(g.removeprefix("x").isdigit() for g in groups):
        raise NotFound(f"no tile {path}")
    if any(not g.startswith("x") for g in groups[:-1]) or groups[-1].startswith("x"):
        raise NotFound(f"no tile {path}")
    if not all(len(g.removeprefix("x")) == 3 for g in groups) or not 0 < width <= WIDTH:
        raise NotFound(f"no tile {path}")
    index = int("".join(g.removeprefix("x") for g in groups))
    if level_part == "entries":
        return Tile(None, index, width)
    if not level_part.isdigit() or int(level_part) > 63:
        raise NotFound(f"no tile {path}")
    return Tile(int(level_part), index, width)


async def tile_bytes(store: EventStore, tile: Tile, size: int) -> bytes:
    """The tile's content in the tree of `size`; NotFound when that tree has no such tile."""
    available = size >> (HEIGHT * tile.level) if tile.level is not None else size
    if tile.index * WIDTH + tile.width > available:
        raise NotFound(f"no tile {tile.path} in the tree of {size}")
    start = tile.index * WIDTH
    if tile.level is None:
        bundle = bytearray()
        async for event in store.read_log(start + 1, page_size=tile.width):
            if event.position > start + tile.width:
                break
            if len(event.body) > MAX_ENTRY:
                raise InvalidInput(
                    "entry",
                    f"the event at position {event.position} has {len(event.body)} bytes; an "
                    f"entry bundle holds at most {MAX_ENTRY}",
                )
            bundle += len(event.body).to_bytes(2, "big") + event.body
        return bytes(bundle)
    if tile.level == 0:
        return b"".join(await StoredTree(store).leaves(start, start + tile.width))
    hashes = await store.tree.row_of_subtrees(HEIGHT * tile.level, start, start + tile.width)
    if len(hashes) != tile.width:
        raise NotFound(f"the stored tree lacks hashes of tile {tile.path}")
    return b"".join(hashes)


async def write_tiles(
    store: EventStore, tree: StoredTree, out: Path, signed_checkpoint: str, size: int
) -> int:
    """Write the tiles of the tree of `size` under `out` that are not there yet, then the
    checkpoint; the number of files written. Full tiles never change, so a second call writes
    only the new ones and the right edge's partial tiles."""
    written = 0
    for tile in tiles_of(size):
        path = out / tile.path
        if path.exists():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_bytes(await tile_bytes(store, tile, size))
        temporary.replace(path)
        written += 1
    (out / "checkpoint.tmp").write_text(signed_checkpoint, encoding="utf-8")
    (out / "checkpoint.tmp").replace(out / "checkpoint")
    return written + 1
