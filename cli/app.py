"""The `concord` command: one entry point for operators, members and auditors."""

from __future__ import annotations

import json
import sys

import typer
from typer.exceptions import TyperException

from cli import (
    audit,
    checkpoints,
    council,
    demo,
    doctor,
    meetings,
    member,
    monitor,
    operator,
    stack,
    tokens,
    transparency,
    views,
    webhooks,
    witness,
)
from cli.parsing import as_typed
from domain.errors import ConcordError
from runtime.process import leave

app = typer.Typer(
    name="concord",
    help="Joint decisions by consensus: propose, review, decide under silence, implement, audit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for module in (operator, member, views, stack, demo, doctor):
    app.registered_commands.extend(module.app.registered_commands)
audit.app.registered_commands.extend(transparency.app.registered_commands)
audit.app.registered_commands.extend(checkpoints.app.registered_commands)
audit.app.registered_commands.extend(monitor.app.registered_commands)
app.add_typer(audit.app, name="audit")
app.add_typer(council.app, name="council")
app.add_typer(meetings.app, name="meetings")
app.add_typer(views.roster_app, name="roster")
app.add_typer(stack.db_app, name="db")
app.add_typer(tokens.app, name="tokens")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(witness.app, name="witness")


def invoke(args: list[str]) -> int:
    """Run the CLI on `args`; usage errors are one line on stderr with exit code 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args or ["--help"], prog_name="concord", standalone_mode=False)
    except typer.Abort:
        print("concord: aborted", file=sys.stderr)
        return 130
    except typer.Exit as done:
        return done.exit_code
    except TyperException as error:
        print(f"concord: {error.format_message()}", file=sys.stderr)
        return 2
    except ConcordError as raised:
        typed = as_typed(raised)
        print(f"concord: {typed.line()}", file=sys.stderr)
        if "--json" in args:
            print(json.dumps(typed.document()))
        return typed.exit_code
    return code if isinstance(code, int) else 0


def main() -> None:
    leave(invoke(sys.argv[1:]))
