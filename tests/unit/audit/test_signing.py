"""A member's key file: readable by its owner alone, never overwritten, and refused when its key
id is not its key's (a file edited to pass for another key)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from audit.signing import MemberKey, verify
from domain.errors import InvalidInput


def test_a_key_file_is_its_owners_alone_and_reads_back_as_the_same_key(tmp_path: Path) -> None:
    key = MemberKey.generate("RUS")
    path = tmp_path / "rus.key"
    key.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = MemberKey.load(path)
    assert (again.member, again.key_id, again.public_key) == ("RUS", key.key_id, key.public_key)
    assert verify(key.public_key, b"statement", again.sign(b"statement"))


def test_a_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "rus.key"
    first = MemberKey.generate("RUS")
    first.save(path)
    with pytest.raises(InvalidInput, match="never overwritten"):
        MemberKey.generate("RUS").save(path)
    assert MemberKey.load(path).key_id == first.key_id


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json", "is no key file"),
        ('{"member": "RUS"}', "lacks member, key_id or private_key"),
        ('{"member": "RUS", "key_id": "ed25519:00", "private_key": "AAAA"}', "no Ed25519 key"),
    ],
    ids=["garbage", "incomplete", "short-seed"],
)
def test_a_file_that_is_no_key_is_refused_naming_it(
    tmp_path: Path, content: str, says: str
) -> None:
    path = tmp_path / "rus.key"
    path.write_text(content)
    with pytest.raises(InvalidInput, match=says) as refused:
        MemberKey.load(path)
    assert str(path) in str(refused.value)


def test_a_key_file_whose_key_id_was_changed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rus.key"
    MemberKey.generate("RUS").save(path)
    document = json.loads(path.read_text())
    document["key_id"] = MemberKey.generate("RUS").key_id
    path.write_text(json.dumps(document))
    with pytest.raises(InvalidInput, match="is not its key's"):
        MemberKey.load(path)
