"""Signed notes: a checkpoint signed with the log's key opens with its verifier key only, and
keys travel in the text forms Go's sumdb/note uses."""

from __future__ import annotations

import pytest

from audit.checkpoint import Checkpoint
from audit.note import Signer, Verifier, open_note, split
from domain.errors import InvalidInput


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
