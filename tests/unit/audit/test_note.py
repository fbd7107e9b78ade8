"""Signed notes: a checkpoint signed with the log's key opens with its verifier key only, and
keys travel in the text forms Go's sumdb/note uses."""

from __future__ import annotations

import pytest

from audit.checkpoint import Checkpoint
from audit.note import Signer, Verifier, open_note, split
from domain.errors import InvalidInput, NotFound


def test_a_signed_checkpoint_opens_with_its_key_and_no_other() -> None:
    key = Signer.generate("nrc.example/concord")
    checkpoint = Checkpoint("nrc.example/concord", 42, bytes(range(32)))
    signed = key.sign(checkpoint.text())
    text, [signature] = open_note(signed, key.verifier)
    assert Checkpoint.parse(text) == checkpoint and signature.name == "nrc.example/concord"
    assert Signer.parse(key.encode()) == key
    assert Verifier.parse(key.verifier.encode()) == key.verifier
    other = Signer.generate("nrc.example/concord")
    with pytest.raises(InvalidInput, match="not signed by"):
        open_note(signed, other.verifier)
    forged = signed.replace("\n42\n", "\n43\n")
    with pytest.raises(InvalidInput, match="not signed by"):
        open_note(forged, key.verifier)


@pytest.mark.parametrize(
    "note",
    ["no blank line\n", "text\n\nnot a signature\n", "text\n\n\u2014 name !!!\n"],
)
def test_what_is_not_a_signed_note_is_said_so(note: str) -> None:
    with pytest.raises(InvalidInput):
        split(note)


@pytest.mark.parametrize(
    "key",
    ["", "name+deadbeef", "name+00000000+AQID", "na me+00000000+" + "A" * 44],
)
def test_malformed_verifier_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidInput):
        Verifier.parse(key)


def test_checkpoint_text_is_origin_size_and_root_each_on_a_line() -> None:
    assert Checkpoint("o", 0, bytes(32)).text() == "o\n0\n" + "A" * 43 + "=\n"
    for text in ("o\n01\n" + "A" * 43 + "=\n", "o\nx\nAA==\n", "o\n1\n"):
        with pytest.raises(InvalidInput):
            Checkpoint.parse(text)


def test_tile_paths_are_written_and_read_as_the_spec_has_them() -> None:
    from audit.tiles import Tile, parse_path, tiles_of

    assert Tile(0, 1234067, 256).path == "tile/0/x001/x234/067"
    assert Tile(None, 5, 3).path == "tile/entries/005.p/3"
    for tile in (Tile(0, 1234067, 256), Tile(2, 0, 7), Tile(None, 5, 3), Tile(None, 1000, 256)):
        assert parse_path(tile.path) == tile
    for bad in ("tile/0/67", "tile/0/x067", "tile/0/000.p/0", "tile/0/000.p/257", "tile/y/000"):
        with pytest.raises(NotFound):
            parse_path(bad)
    assert [t.path for t in tiles_of(257)] == [
        "tile/0/000",
        "tile/0/001.p/1",
        "tile/1/000.p/1",
        "tile/entries/000",
        "tile/entries/001.p/1",
    ]
