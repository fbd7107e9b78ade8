"""What people type on the command line: durations, deadlines, files and fields, or one error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli.parsing import build, duration_seconds, parse_deadline, parse_duration, read_text_file
from domain import commands as cmd
from domain.errors import InvalidInput

NOW = datetime(2004, 12, 9, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        (" 72h ", timedelta(hours=72)),
        ("14d", timedelta(days=14)),
    ],
)
def test_a_duration_is_a_number_and_a_unit(typed: str, expected: timedelta) -> None:
    assert parse_duration(typed, "deadline") == expected
    assert duration_seconds(typed, "reminder") == int(expected.total_seconds())


@pytest.mark.parametrize("typed", ["0d", "1w", "d", "-3h", "3.5h", "", "99999999d", "9" * 30 + "s"])
def test_anything_else_is_invalid_input_naming_the_field(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_duration(typed, "deadline")
    assert refused.value.field == "deadline"


def test_no_duration_option_is_none() -> None:
    assert duration_seconds(None, "reminder") is None


def test_a_deadline_is_a_duration_from_now_or_an_instant_with_its_timezone() -> None:
    assert parse_deadline("2h", "deadline", NOW) == NOW + timedelta(hours=2)
    assert parse_deadline("2005-06-01T00:00:00Z", "deadline") == datetime(2005, 6, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="needs a timezone"):
        parse_deadline("2005-06-01T00:00:00", "deadline")
    with pytest.raises(InvalidInput, match="neither a duration"):
        parse_deadline("soon", "deadline")
    with pytest.raises(InvalidInput, match="longer than"):
        parse_deadline("99999999d", "deadline", NOW)


def test_a_text_file_must_exist_be_utf8_and_say_something(tmp_path: Path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("The Council adopts ...", encoding="utf-8")
    assert read_text_file(text, "text-file") == "The Council adopts ..."
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Zürich".encode("latin-1"))
    for name, problem in [
        ("missing.txt", "does not exist"),
        ("empty.txt", "is empty"),
        ("latin1.txt", "cannot read"),
    ]:
        with pytest.raises(InvalidInput, match=problem):
            read_text_file(tmp_path / name, "text-file")


def test_a_command_that_does_not_validate_names_its_option() -> None:
    with pytest.raises(InvalidInput) as refused:
        build(cmd.RaiseIssue, decision_id="d-1", actor="RUS", recorded_by="member:RUS", title="")
    assert refused.value.field == "--title"
    with pytest.raises(InvalidInput, match="is not a member's code") as refused:
        build(cmd.RaiseIssue, decision_id="d-1", actor="ru", recorded_by="member:ru", title="t")
    assert refused.value.field == "--as"


def test_a_huge_bad_value_is_not_echoed_back_whole() -> None:
    with pytest.raises(InvalidInput) as refused:
        build(
            cmd.RaiseIssue,
            decision_id="d-1",
            actor="RUS",
            recorded_by="member:RUS",
            title="x" * 5_000,
        )
    assert len(refused.value.message) < 300 and "5,000 characters" in refused.value.message


def test_text_someone_else_wrote_is_shown_never_obeyed() -> None:
    from io import StringIO

    from rich.console import Console

    from cli.session import shown

    printed = StringIO()
    hostile = "Plan\x1b[2J [red]x[/red] \x07"
    Console(file=printed, force_terminal=True, highlight=False, width=200).print(
        f"title: {shown(hostile)}"
    )
    assert "\x1b[2J" not in printed.getvalue() and "\x07" not in printed.getvalue()
    assert "\\x1b[2J [red]x[/red] \\x07" in printed.getvalue()


def test_invisible_formatting_someone_else_wrote_is_written_out() -> None:
    """A right-to-left override or a zero-width space in a title, a name or an agenda's
    details is printed as \\uNNNN: the line reads as it is stored ("Trojan source")."""
    from cli.session import shown

    assert shown("Plan\u202eevil\u200b") == "Plan\\u202eevil\\u200b"


def test_an_error_names_the_option_typed_not_the_field_inside() -> None:
    with pytest.raises(InvalidInput) as refused:
        build(cmd.RaiseIssue, decision_id="D 1", actor="RUS", recorded_by="member:RUS", title="t")
    assert refused.value.field == "--id"
    with pytest.raises(InvalidInput) as refused:
        build(
            cmd.SubmitProposal,
            decision_id="d-1",
            actor="RUS",
            recorded_by="member:RUS",
            title="t",
            text="x",
            area="crisis_management",
            review_period_seconds=0,
        )
    assert refused.value.field == "--review-period"


def test_a_domain_error_names_the_option_the_person_typed() -> None:
    from cli.parsing import as_typed

    typed = as_typed(InvalidInput("reminder_before_seconds", "too long"))
    assert (
        isinstance(typed, InvalidInput)
        and typed.line() == "invalid input: --remind-before: too long"
    )


def test_as_of_is_now_a_duration_ago_a_date_at_its_start_or_an_instant() -> None:
    from cli.parsing import parse_as_of

    assert parse_as_of(None, "as-of", NOW) == NOW
    assert parse_as_of("2d", "as-of", NOW) == NOW - timedelta(days=2)
    assert parse_as_of("2004-12-09", "as-of", NOW) == datetime(2004, 12, 9, tzinfo=UTC)
    assert parse_as_of("2004-12-09T10:00:00+01:00", "as-of", NOW) == datetime(
        2004, 12, 9, 9, tzinfo=UTC
    )
    with pytest.raises(InvalidInput, match="as-of"):
        parse_as_of("yesterday", "as-of", NOW)
