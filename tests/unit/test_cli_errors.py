"""What the CLI says when it refuses what was typed: the option or variable the person gave, the
limit in the unit people use, and with --json one document on stdout, even for usage errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer

from cli.app import app, invoke

PROPOSAL = ["propose", "--as", "POL", "--title", "Action Plan", "--area", "crisis_management"]


@pytest.fixture(autouse=True)
def _installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An installation of its own, reached nowhere: each command here is refused before."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONCORD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONCORD_OPERATOR", "secretariat")


def refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str]:
    """The JSON error document and the line on stderr of a command refused as invalid input."""
    assert invoke([*args, "--json"]) == 2
    out, err = capsys.readouterr()
    document: dict[str, Any] = json.loads(out)["error"]
    assert err.startswith("concord: ") and err.count("\n") == 1, err
    assert document["code"] == "invalid_input"
    return document, err


def test_a_malformed_operator_is_named_by_its_variable_not_by_a_field_inside(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONCORD_OPERATOR", "Jane Doe")
    document, err = refused([*PROPOSAL, "--text", "x"], capsys)
    assert document["field"] == "CONCORD_OPERATOR"
    assert "'Jane Doe' is not an operator's name" in document["message"]
    assert "recorded-by" not in err and err.startswith("concord: invalid input: CONCORD_OPERATOR:")

    monkeypatch.delenv("CONCORD_OPERATOR")
    monkeypatch.setattr("getpass.getuser", lambda: "Jane Doe")
    document, _ = refused([*PROPOSAL, "--text", "x"], capsys)
    assert document["field"] == "CONCORD_OPERATOR"
    assert "the login name 'Jane Doe'" in document["message"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (" \t\n", "is empty"),
        ("\ufeff \n", "must hold more than white space"),
        ("Action Plan\x07\n", "must not contain control characters (found U+0007)"),
    ],
    ids=["white-space", "byte-order-mark", "bell"],
)
def test_a_text_file_whose_content_is_refused_is_named_as_the_file(
    content: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    given = tmp_path / "plan.txt"
    given.write_text(content, encoding="utf-8")
    for command in ([*PROPOSAL], ["amend", "d-1"]):
        document, err = refused([*command, "--text-file", str(given)], capsys)
        assert document["field"] == "--text-file" and problem in document["message"]
        assert "plan.txt" in document["message"]
        assert err.startswith("concord: invalid input: --text-file: ")


def test_a_review_period_out_of_range_is_refused_in_days(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for period, given in (("3661d", "3661 days"), ("316224001s", "316224001 seconds")):
        document, _ = refused([*PROPOSAL, "--text", "x", "--review-period", period], capsys)
        assert document["field"] == "--review-period"
        assert document["message"] == f"--review-period: must be at most 3660 days (got {given})"


def test_extend_says_its_round_is_the_one_whose_deadline_is_extended() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    extend = group.get_command(typer.Context(group), "extend")
    assert extend is not None
    [option] = [p for p in extend.params if "--round" in getattr(p, "opts", ())]
    said = getattr(option, "help", "")
    assert "the round whose deadline is extended" in said and "the open round" in said
    assert "member" not in said


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["propose", "--title", "t", "--area", "crisis_management", "--text", "x"], "--as"),
        (["concur", "d-1", "--as", "USA", "--round", "abc"], "--round"),
        (["review", "d-1", "--outcome", "bogus"], "--outcome"),
        (["extend", "d-1", "--target", "bogus", "--deadline", "1h", "--reason", "r"], "--target"),
        (["status", "d-1", "--bogus"], "--bogus"),
        (["concur", "--as", "USA"], "ID"),
    ],
    ids=["missing-as", "round-not-a-number", "unknown-outcome", "unknown-target", "unknown", "id"],
)
def test_with_json_a_usage_error_is_also_one_document_on_stdout(
    args: list[str], field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    document, err = refused(args, capsys)
    assert document["field"] == field
    assert document["message"] == err.removeprefix("concord: ").strip()


def test_without_json_a_usage_error_prints_nothing_on_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert invoke(["concur", "d-1", "--as", "USA", "--round", "abc"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("concord: Invalid value for '--round'")
