"""The CLI's lines are printed as rich would print them, without rich: the same text for the
CLI's own markup and for anything someone else wrote, which is shown and never obeyed."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from cli.output import Output, escape, render
from cli.session import shown

OWN_LINES = [
    "[green]accepted[/green] d-1 v3: ConcurrenceRecorded",
    "[bold]d-1[/bold]  Joint threat assessment",
    "[red]refused[/red] [dim](rule: silence_broken)[/dim]",
    "[bold][green]both[/green] still bold[/bold] plain",
    "[dim]closing the last open one[/]",
    "no markup at all, a [ bracket and a ] bracket",
    "[foo]a tag rich knows no style of[/foo], [1] and [A] are no tags",
    "[italic]a style of rich's the CLI does not use[/italic]",
]


def by_rich(markup: str) -> str:
    """The text rich prints for `markup` (no colour, no emoji, no wrapping)."""
    console = Console(file=io.StringIO(), color_system=None, emoji=False, highlight=False)
    console.print(markup, soft_wrap=True)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text.removesuffix("\n")


@pytest.mark.parametrize("line", OWN_LINES)
def test_the_clis_own_lines_read_as_rich_prints_them(line: str) -> None:
    assert render(line, colour=False) == by_rich(line)


@given(st.text(st.characters(blacklist_characters="\t")))  # tabs: the test after it
def test_anything_someone_wrote_prints_as_rich_prints_it_and_its_markup_is_not_obeyed(
    text: str,
) -> None:
    safe = shown(text)
    assert render(safe, colour=False) == by_rich(safe)
    marked = f"[bold]{safe}[/bold]"
    assert render(marked, colour=False) == by_rich(marked)
    assert render(marked, colour=True) == f"\x1b[0m\x1b[1m{by_rich(marked)}\x1b[0m"


@given(st.text(alphabet="[]\\/abdgr ", max_size=40))
def test_escape_is_riches_escape(text: str) -> None:
    from rich.markup import escape as rich_escape

    assert escape(text) == rich_escape(text)


@pytest.mark.parametrize("text", ["a\tb", "\tstart", "ab\tc\td\nx\ty", "12345678\tz"])
def test_tabs_are_expanded_as_rich_expands_them(text: str) -> None:
    assert render(f"[bold]{text}[/bold]", colour=False) == by_rich(text)
    assert "\t" not in render(f"[bold]{text}[/bold]", colour=True)


def test_a_member_who_writes_markup_or_an_emoji_code_sees_it_printed_as_written() -> None:
    text = "[red]forged[/red] [link=http://x]click[/link] :warning: \\[bold]"
    printed = render(shown(text), colour=True)
    assert "\x1b" not in printed
    assert "[red]forged[/red] [link=http://x]click[/link] :warning:" in printed


def test_colour_is_written_on_a_terminal_and_never_into_a_pipe(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    Output().print("[green]accepted[/green] d-1")
    assert capsys.readouterr().out == "accepted d-1\n"
    monkeypatch.setenv("FORCE_COLOR", "1")
    Output().print("[green]accepted[/green] d-1", style="dim")
    assert (
        capsys.readouterr().out
        == "\x1b[0m\x1b[2m\x1b[0m\x1b[2;32maccepted\x1b[0m\x1b[2m d-1\x1b[0m\n"
    )


@pytest.mark.parametrize("markup", ["[bold]open[/red]", "[/]x", "x [/foo] y"])
def test_a_closing_tag_that_closes_nothing_is_an_error_as_in_rich(markup: str) -> None:
    with pytest.raises(ValueError):
        render(markup, colour=False)


def test_a_tag_that_names_no_style_of_the_clis_is_consumed_and_styles_nothing() -> None:
    assert render("[blink]no such[/blink] style", colour=True) == "no such style"
