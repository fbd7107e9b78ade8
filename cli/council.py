"""`concord council`: start a council file, check one, and show a council."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

from cli.session import (
    JsonOption,
    council_in_force,
    emit,
    event_store,
    out,
    principal,
    run,
    settings,
    shown,
)
from domain.cadence import Cadence
from domain.council import Council
from domain.errors import InvalidInput, Unavailable
from domain.roster import ALL_MEMBERS
from runtime.council_files import (
    COUNCIL_TEMPLATE,
    CouncilFileInvalidAtLines,
    council_document,
    read_council_file,
)
from runtime.meetings import sync_meeting_schedules
from runtime.temporal import connect
from store.councils import Councils, Imported, file_digest

app = typer.Typer(no_args_is_help=True)
"""Its help line is cli.app's, which lists it without importing it."""

complaints = Console(stderr=True, highlight=False, soft_wrap=True)
"""Where a file's problems are printed, one a line: keys quoted from the file made safe."""

FileArgument = Annotated[Path, typer.Argument(metavar="FILE", help="A council file (YAML).")]


def _read(file: Path, as_json: bool) -> Council:
    """The council in `file`; when it has problems, every one is printed (one line each, on
    stderr; also as JSON on stdout with --json) and the command exits with code 2."""
    try:
        return read_council_file(file)
    except CouncilFileInvalidAtLines as invalid:
        for problem in invalid.file_problems:
            complaints.print(shown(problem.text()))
        if as_json:
            problems = [
                {"line": p.line, "location": p.where, "message": p.message}
                for p in invalid.file_problems
            ]
            document = {"valid": False, "file": invalid.file, "problems": problems}
            print(json.dumps(document, indent=2))
        raise typer.Exit(InvalidInput.exit_code) from None


@app.command("init")
def init(
    file: Annotated[
        Path, typer.Argument(metavar="[FILE]", help="Where to write it (default council.yaml).")
    ] = Path("council.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Write a documented starter council file to edit: five members, three bodies.

    Example: concord council init nordic.yaml
    """
    try:
        # "x" creates the file or fails: no check-then-write window to overwrite one.
        with file.open("w" if force else "x", encoding="utf-8") as written:
            written.write(COUNCIL_TEMPLATE)
    except FileExistsError:
        raise InvalidInput(str(file), "exists already; --force overwrites it") from None
    except OSError as error:
        raise InvalidInput(str(file), f"cannot write it: {error.strerror or error}") from None
    out.print(
        f"wrote {shown(str(file))}: edit it, then `concord council validate {shown(str(file))}`"
    )


@app.command("validate")
def validate(file: FileArgument, as_json: JsonOption = False) -> None:
    """Check a council file; print every problem with its line, or a summary when it is valid.

    Example: concord council validate nordic.yaml
    """
    council = _read(file, as_json)
    versions = len(council.rosters)
    summary = {
        "valid": True,
        "file": str(file),
        "code": council.code,
        "name": council.name,
        "members": len(council.members),
        "bodies": len(council.bodies),
        "roster_versions": versions,
    }
    emit(
        summary,
        as_json,
        lambda: out.print(
            f"{shown(str(file))}: valid, council {council.code} ({shown(council.name)}): "
            f"{len(council.members)} members, {len(council.bodies)} bodies, "
            f"{versions} roster version{'s' if versions != 1 else ''}"
        ),
    )


@app.command("show")
def show(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="[FILE]", help="A council file (default: the council Concord uses)."
        ),
    ] = None,
    as_json: JsonOption = False,
    as_yaml: Annotated[
        bool, typer.Option("--yaml", help="Print it as a council file, to edit or keep.")
    ] = False,
) -> None:
    """Show a council: members, bodies with their cadences, roster versions.

    Example: concord council show nordic.yaml
    """
    if as_json and as_yaml:
        raise InvalidInput("--yaml", "give --json or --yaml, not both")
    council = run(council_in_force()) if file is None else _read(file, as_json)
    if as_yaml:
        sys.stdout.write(council_document(council))
        return
    emit(council.model_dump(mode="json"), as_json, lambda: _print_council(council))


@app.command("import")
def import_(file: FileArgument, as_json: JsonOption = False) -> None:
    """Record a council file in the log: each change it makes to the council in force (a new
    roster version, a body established or changed, a new cadence) becomes an event of the
    council's stream, recorded by the operator. The same file again records nothing.

    Example: concord council import nordic.yaml
    """
    council = _read(file, as_json)
    digest = file_digest(file.read_text(encoding="utf-8"))

    async def work() -> tuple[Imported, str]:
        current = settings()
        async with event_store(current) as store:
            imported = await Councils(store).import_council(
                council, file.name, digest, principal(current)
            )
        if not imported.stored:
            return imported, "unchanged"
        try:  # the bodies' cadences may have changed: their schedules follow at once
            client = await connect(current.temporal_address, current.temporal_namespace)
            await sync_meeting_schedules(client, council, current.task_queue)
        except Unavailable:
            return imported, "not synced: Temporal is not reachable; run `concord meetings sync`"
        return imported, "synced"

    imported, schedules = run(work())
    document = {
        "council": council.code,
        "digest": digest,
        "events": [
            {"position": e.position, "type": e.type, "stream_version": e.stream_version}
            for e in imported.stored
        ],
        "schedules": schedules,
    }

    def human() -> None:
        if not imported.stored:
            out.print(f"council {council.code}: the log already records this file; nothing new")
            return
        out.print(f"council {council.code}: recorded {len(imported.stored)} events")
        for e in imported.stored:
            out.print(f"  {e.position:>8}  {e.type}")
        out.print(f"sittings schedules: {schedules}")

    emit(document, as_json, human)


def _print_council(council: Council) -> None:
    out.print(
        f"[bold]{council.code}[/bold]  {shown(council.name)}; chair: {shown(council.chair.title)}"
    )
    members = Table("code", "member state", "on roster versions")
    for m in council.members:
        on = [str(r.version) for r in council.rosters if m.code in r.members]
        members.add_row(m.code, shown(m.name), ", ".join(on) or "none")
    out.print(members)
    bodies = Table(
        Column("code", no_wrap=True),
        "body",
        Column("kind", overflow="fold"),
        Column("level", overflow="fold"),
        "members",
    )
    sittings = Table(
        Column("code", no_wrap=True), Column("sits", overflow="fold"), "at least", "extraordinary"
    )
    for b in council.bodies:
        members_of_body = ALL_MEMBERS if b.members == ALL_MEMBERS else str(len(b.members))
        level = b.level or ""
        bodies.add_row(b.code, shown(b.name), b.kind.value, level, members_of_body)
        cadence = b.cadence or Cadence()
        sittings.add_row(
            b.code,
            shown(cadence.rule) if cadence.rule else "ad hoc",
            cadence.at_least.label().removeprefix("at least ") if cadence.at_least else "",
            _duration(cadence.extraordinary_within),
        )
    out.print(bodies)
    out.print(sittings)
    rosters = Table("version", "in force from", "until", "members")
    for r in sorted(council.rosters, key=lambda r: r.version):
        until = r.effective_until.isoformat() if r.effective_until else ""
        rosters.add_row(str(r.version), r.effective_from.isoformat(), until, str(len(r.members)))
    out.print(rosters)


def _duration(delay: timedelta) -> str:
    hours = int(delay.total_seconds() // 3600)
    if delay != timedelta(hours=hours):
        return str(delay)
    return f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"
