"""What every benchmark shares: the options that choose its store and its size, and what it
writes beside its figures (the machine, and its own section of docs/benchmarks.md, replaced in
place between its markers, appended the first time)."""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import sys
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

DOC = Path(__file__).parents[1] / "docs" / "benchmarks.md"
SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
"""The PostgreSQL server a benchmark makes its throwaway databases on."""


def store_and_size_options(parser: argparse.ArgumentParser) -> None:
    """--backend, --server, --smoke and --no-write, alike in every benchmark."""
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, nothing written")
    parser.add_argument("--no-write", action="store_true", help="print only")


def compiled_as_installed() -> None:
    """The project's bytecode, as an installed wheel holds it (the packages and modules
    pyproject.toml ships): without it, in an environment that writes none
    (PYTHONDONTWRITEBYTECODE), each process compiles the modules it imports, and the worker's
    sandbox the workflow's modules again for every run it starts."""
    root = DOC.parents[1]
    shipped = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    for pattern in shipped["packages"]["find"]["include"]:
        compileall.compile_dir(root / pattern.rstrip("*"), quiet=1)
    for module in shipped["py-modules"]:
        compileall.compile_file(root / f"{module}.py", quiet=1)


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


def write_run(
    script: str,
    name: str,
    heading: str,
    how: str,
    lines: Sequence[str],
    argv: Sequence[str] | None = None,
) -> None:
    """Replace the section `name` with `lines` under `heading`, after a line that says how the
    benchmark `script` (its `__file__`) was run, with `argv` (else this process's arguments),
    when, on what machine, and then `how` (what its figures are)."""
    arguments = list(argv) if argv is not None else sys.argv[1:]
    command = " ".join(["python", f"benchmarks/{Path(script).name}", *arguments])
    replace_section(
        name,
        [
            heading,
            "",
            f"`{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({machine()}){how}",
            "",
            *lines,
        ],
    )
