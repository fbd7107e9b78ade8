"""What the CLI prints for people: lines marked up in rich's console markup, printed without
importing rich unless a table or other renderable is printed.

Most commands print lines of text with a few styles ([bold], [dim], [green], [red]). Importing
rich costs more than printing a decision's status, so those lines are rendered here, the way
rich renders its markup (tags, `\\[` escapes, `escape` below is rich's own rule), with colour
on a terminal only; anything else goes to a rich Console made when it is first needed.
Unlike rich, nothing turns `:name:` into an emoji: text someone wrote is printed as written.
"""

from __future__ import annotations

import os
import re
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Final, TextIO

if TYPE_CHECKING:
    from rich.console import Console

STYLES: Final = {"bold": "1", "dim": "2", "red": "31", "green": "32"}
"""The styles the CLI's own lines use, by their SGR codes."""

_TAG: Final = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")
"""A tag of rich's console markup, with the backslashes before it (rich.markup.RE_TAGS)."""
_TAG_IN_TEXT: Final = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
_RESET: Final = "\x1b[0m"


def escape(text: str) -> str:
    """`text` with every tag-like `[...]` escaped, so printing it shows it (rich.markup.escape's
    rule: Rich's tables, which print these too, read it back the same way)."""
    escaped = _TAG_IN_TEXT.sub(lambda m: f"{m[1]}{m[1]}\\{m[2]}", text)
    if escaped.endswith("\\") and not escaped.endswith("\\\\"):
        return escaped + "\\"
    return escaped


def render(markup: str, *, colour: bool, style: str | None = None) -> str:
    """The text of a line of markup, styled with SGR codes when `colour` (else plain). As in
    rich, a tag is consumed whatever it names (one that names no style of STYLES adds none), and
    a closing tag that closes no open one is a ValueError."""
    pieces: list[str] = []
    open_styles: list[str] = [style] if style else []
    written: tuple[str, ...] = ()  # the SGR codes in force in what is written so far

    def restyle() -> None:
        nonlocal written
        codes = tuple(STYLES[name] for name in open_styles if name in STYLES)
        if colour and codes != written:
            pieces.append(_RESET + (f"\x1b[{';'.join(codes)}m" if codes else ""))
            written = codes

    restyle()
    position = 0
    for match in _TAG.finditer(markup):
        escapes, tag = match.groups()
        pieces.append(_plain(markup[position : match.start()]))
        position = match.end()
        backslashes, escaped = divmod(len(escapes), 2)
        pieces.append("\\" * backslashes)
        if escaped:
            pieces.append(f"[{tag}]")
            continue
        if tag.startswith("/"):
            name = tag[1:].strip()
            if not open_styles or (name and name not in open_styles):
                raise ValueError(f"closing tag [{tag}] closes no open tag in {markup!r}")
            del open_styles[len(open_styles) - 1 - open_styles[::-1].index(name or open_styles[-1])]
        else:
            open_styles.append(tag.strip())
        restyle()
    pieces.append(_plain(markup[position:]))
    open_styles.clear()
    restyle()
    return _tabs_expanded(pieces)


def _plain(text: str) -> str:
    # As rich: an escaped bracket that opens no tag is a bracket.
    return text.replace("\\[", "[")


def _tabs_expanded(pieces: list[str]) -> str:
    """The pieces joined, each tab a run of spaces to the next of every eighth column (as rich
    writes them; columns counted in characters), the SGR codes between them taking none."""
    if not any("\t" in piece for piece in pieces):
        return "".join(pieces)
    column = 0
    written: list[str] = []
    for piece in pieces:
        if not piece.startswith("\x1b"):
            piece = (" " * column + piece).expandtabs(8)[column:]
            column = len(piece) - piece.rfind("\n") - 1 if "\n" in piece else column + len(piece)
        written.append(piece)
    return "".join(written)


def colour_wanted(stream: TextIO) -> bool:
    """Colour on a terminal, unless NO_COLOR is set or TERM is dumb; always with FORCE_COLOR
    (as rich decides)."""
    if os.environ.get("FORCE_COLOR"):
        return True
    if "NO_COLOR" in os.environ or os.environ.get("TERM", "") in ("dumb", "unknown"):
        return False
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


def _reader_gone() -> BrokenPipeError:
    """The error of a reader gone away (`concord roster show | head -1`), without an errno:
    click ends a command that raised EPIPE with exit 1, cli.app.main ends it quietly with 0."""
    return BrokenPipeError()


class Output:
    """Standard output for people (`cli.session.out`): lines of markup printed here, anything
    else by rich."""

    def print(self, *objects: object, style: str | None = None, soft_wrap: bool = True) -> None:
        """Print `objects` (joined by spaces) as one line; rich prints what is not text."""
        if all(isinstance(o, str) for o in objects):
            line = " ".join(str(o) for o in objects)
            stream = sys.stdout
            try:
                stream.write(render(line, colour=colour_wanted(stream), style=style) + "\n")
                stream.flush()
            except BrokenPipeError:
                raise _reader_gone() from None
            return
        self.rich.print(*objects, style=style, soft_wrap=soft_wrap)

    @cached_property
    def rich(self) -> Console:
        """rich's Console on standard output, for tables and progress bars."""
        from rich.console import Console

        class _Console(Console):
            def on_broken_pipe(self) -> None:
                # Rich ends the process with exit 1 here.
                raise _reader_gone()

        return _Console(highlight=False, soft_wrap=True, emoji=False)
