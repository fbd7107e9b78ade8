"""A decision id given on the command line is checked before it goes anywhere: one that is not
an id is refused in one line that quotes it safely (escapes made visible) and cut short."""

from __future__ import annotations

import pytest

from cli.app import invoke


@pytest.mark.parametrize(
    "command",
    [["status"], ["concur", "--as", "USA"], ["audit", "history"], ["audit", "export", "-o", "x"]],
    ids=["status", "concur", "audit-history", "audit-export"],
)
def test_a_hostile_id_is_refused_in_one_safe_short_line(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    for hostile, shown in (
        ("d-\x1b[31mred", "'d-\\x1b[31mred'"),
        ("a" * 5000, "(5,000 characters)"),
        ("D-Upper", "'D-Upper'"),
    ):
        args = [*command[:1], hostile, *command[1:]]
        if command[0] == "audit":
            args = [command[0], command[1], hostile, *command[2:]]
        assert invoke(args) == 2
        said = capsys.readouterr().err
        assert said.count("\n") == 1 and "\x1b" not in said and len(said) < 300, said
        assert said.startswith("concord: invalid input: ID: ") and shown in said
