"""`concord keys` as a delegation and the secretariat use it: a key generated with its request,
the request registered, a rotation endorsed by the old key, every change listed with its
authority, and each refusal in one line with its exit code, leaving the registry unchanged."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest

from cli.app import invoke
from store.migrate import upgrade

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    url = f"sqlite+aiosqlite:///{tmp_path / 'concord.db'}"
    asyncio.run(upgrade(url))
    monkeypatch.setenv("CONCORD_DATABASE_URL", url)
    monkeypatch.setenv("CONCORD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONCORD_OPERATOR", "secretariat")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def said(capsys: Capture, *args: str) -> tuple[int, str, str]:
    code = invoke(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listed(capsys: Capture) -> list[dict[str, object]]:
    code, out, _ = said(capsys, "keys", "list", "--json")
    assert code == 0
    keys: list[dict[str, object]] = json.loads(out)["keys"]
    return keys


def test_a_delegations_key_is_generated_registered_rotated_and_listed(
    installation: Path, capsys: Capture
) -> None:
    code, out, err = said(capsys, "keys", "generate", "--member", "RUS", "-o", "rus.key", "--json")
    assert code == 0, err
    generated = json.loads(out)
    assert stat.S_IMODE((installation / "rus.key").stat().st_mode) == 0o600
    request = json.loads((installation / "rus.key.request").read_text())
    assert "private_key" not in request and request["member"] == "RUS"

    code, out, err = said(capsys, "keys", "register", "rus.key.request")
    assert code == 0, err
    assert f"{generated['key_id']} in force, on the chair's authority" in out

    code, _, err = said(
        capsys, "keys", "generate", "--member", "RUS", "-o", "new.key", "--replacing", "rus.key"
    )
    assert code == 0, err
    code, out, err = said(capsys, "keys", "register", "new.key.request", "--json")
    assert code == 0, err
    rotation = json.loads(out)
    assert rotation["authority"] == "member" and rotation["endorsed_by"] == generated["key_id"]

    [first, second] = listed(capsys)
    assert (first["key_id"], first["ended"], first["flagged"]) == (
        generated["key_id"],
        "rotated",
        True,
    )
    assert (second["key_id"], second["until"], second["flagged"]) == (
        rotation["key_id"],
        None,
        False,
    )
    code, out, _ = said(capsys, "keys", "list")
    assert code == 0
    assert out.splitlines()[1:] == [
        "    on the chair's authority: not signed by the member's key",
        f"RUS {rotation['key_id']}  {out.splitlines()[2].split('  ')[1]}",
    ]


def test_refusals_are_one_line_with_their_exit_code_and_change_nothing(
    installation: Path, capsys: Capture
) -> None:
    assert said(capsys, "keys", "generate", "--member", "RUS", "-o", "rus.key")[0] == 0
    assert said(capsys, "keys", "register", "rus.key.request")[0] == 0

    refusals = [
        (("keys", "register", "rus.key.request"), 3, "refused (key_registered)"),
        (("keys", "generate", "--member", "RUS", "-o", "rus.key"), 2, "never overwritten"),
        (("keys", "generate", "--member", "rus", "-o", "x.key"), 2, "not a delegation's code"),
        (("keys", "generate", "--member", "RUS", "-o", "no/x.key"), 2, "no/x.key cannot be made"),
        (("keys", "generate", "--member", "RUS", "-o", "y.key", "--origin", "a b"), 2, "origin"),
        (("keys", "register", "missing.request"), 2, "is no key request"),
        (("keys", "revoke", "--member", "USA"), 3, "refused (no_key): USA has no key in force"),
        (("keys", "revoke", "--member", "USA", "--sign-key", "rus.key"), 2, "RUS's key"),
    ]
    for args, exit_code, message in refusals:
        code, _, err = said(capsys, *args)
        assert (code, err.count("\n")) == (exit_code, 1), (args, err)
        assert message in err, (args, err)
        assert "Traceback" not in err
    assert [k["member"] for k in listed(capsys)] == ["RUS"]
    assert not (installation / "y.key").exists()

    code, _, err = said(capsys, "keys", "revoke", "--member", "RUS", "--sign-key", "rus.key")
    assert code == 0, err
    [revoked] = listed(capsys)
    assert revoked["ended"] == "revoked"


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        ({"member": "rus"}, "refused (not_on_roster): rus is not a member of NRC"),
        ({"public_key": "not a key"}, "invalid input: public_key"),
        ({"possession": "forged"}, "refused (bad_signature)"),
        ({"endorsement": "x" * 86}, "refused (bad_signature)"),
        ({"origin": "bad origin"}, "refused (bad_signature): the request was signed for the log"),
        ({"key_id": "ed25519:0000000000000000"}, "invalid input: key_id"),
        ({"private_key": "AAAA"}, "holds fields other than"),
    ],
    ids=["member", "public-key", "possession", "endorsement", "origin", "key-id", "extra-field"],
)
def test_a_request_edited_on_its_way_is_refused_in_one_line_and_records_nothing(
    installation: Path, capsys: Capture, edit: dict[str, str], says: str
) -> None:
    assert said(capsys, "keys", "generate", "--member", "RUS", "-o", "rus.key")[0] == 0
    request = installation / "rus.key.request"
    request.write_text(json.dumps(json.loads(request.read_text()) | edit))
    code, _, err = said(capsys, "keys", "register", str(request))
    assert code in (2, 3) and err.count("\n") == 1, err
    assert says in err and "Traceback" not in err
    assert listed(capsys) == []
