"""What every benchmark writes beside its figures: the machine, and its own section of
docs/benchmarks.md, replaced in place between its markers (appended the first time)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

DOC = Path(__file__).parents[1] / "docs" / "benchmarks.md"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def replace_section(name: str, lines: list[str], doc: Path = DOC) -> None:
    """Put `lines` between `<!-- name -->` and `<!-- /name -->` in `doc` (docs/benchmarks.md)."""
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    section = "\n".join([begin, *lines, end])
    text = doc.read_text(encoding="utf-8")
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")
