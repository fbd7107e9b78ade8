"""The `concord` command: one entry point for operators, members and auditors.

Its groups of commands (`concord audit ...`, `concord council ...`) are imported when one of them
runs, not when `concord` starts: `concord --help` and a member's `concord concur` do not pay for
the transparency log's, the API's or the witness's code."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any, Final

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.exceptions import TyperException

from cli import demo, doctor, member, operator, stack, views
from cli.parsing import as_typed
from domain.errors import ConcordError, InvalidInput
from runtime.process import leave


def _audit() -> typer.Typer:
    """`concord audit`: the audit commands with the transparency log's, in one group."""
    from cli import audit, checkpoints, monitor, transparency

    if not getattr(audit.app, "_composed", False):
        for module in (transparency, checkpoints, monitor):
            audit.app.registered_commands.extend(module.app.registered_commands)
        audit.app._composed = True  # type: ignore[attr-defined]
    return audit.app


def _module_app(name: str) -> Callable[[], typer.Typer]:
    def load() -> typer.Typer:
        loaded: typer.Typer = import_module(f"cli.{name}").app
        return loaded

    return load


GROUPS: Final[dict[str, tuple[str, Callable[[], typer.Typer]]]] = {
    "audit": ("Verify, reconstruct and replay histories.", _audit),
    "council": (
        "The council: its members, bodies, cadences and roster versions, as a file.",
        _module_app("council"),
    ),
    "meetings": (
        "The bodies' sittings: schedules, records, agendas, compliance.",
        _module_app("meetings"),
    ),
    "tokens": ("Access tokens for the HTTP API.", _module_app("tokens")),
    "webhooks": ("Webhooks: notable events POSTed, signed, to endpoints.", _module_app("webhooks")),
    "witness": (
        "A witness of Concord logs over HTTP (C2SP tlog-witness).",
        _module_app("witness"),
    ),
}
"""The groups imported when used: their help line here, their commands in their module."""


class Deferred(TyperGroup):
    """A group of commands listed by its help line, and imported only when it runs."""

    def __init__(self, name: str, help: str, load: Callable[[], typer.Typer]) -> None:
        super().__init__(name=name, help=help, no_args_is_help=True)
        self._load = load

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        real = typer.main.get_group(self._load())
        real.name, real.help = self.name, self.help
        return real.make_context(info_name, args, parent=parent, **extra)


class Concord(TyperGroup):
    """The top-level group: its own commands, and the deferred groups."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        for name, (help, load) in GROUPS.items():
            self.add_command(Deferred(name, help, load), name)


app = typer.Typer(
    name="concord",
    help="Joint decisions by consensus: propose, review, decide under silence, implement, audit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=Concord,
)
for module in (operator, member, views, stack, demo, doctor):
    app.registered_commands.extend(module.app.registered_commands)
app.add_typer(views.roster_app, name="roster")
app.add_typer(stack.db_app, name="db")


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
        message = error.format_message()
        if message:  # a group given no command has printed its help: nothing more to say
            print(f"concord: {message}", file=sys.stderr)
            if "--json" in args:
                print(json.dumps(_usage_document(error, message)))
        return 2
    except ConcordError as raised:
        typed = as_typed(raised)
        print(f"concord: {typed.line()}", file=sys.stderr)
        if "--json" in args:
            print(json.dumps(typed.document()))
        return typed.exit_code
    return code if isinstance(code, int) else 0


def _usage_document(error: TyperException, message: str) -> dict[str, dict[str, str | None]]:
    """A usage error (a value the option's type refuses, a missing option, an unknown one) as
    the document of InvalidInput, naming the option or argument when the error does."""
    param, option = getattr(error, "param", None), getattr(error, "option_name", None)
    field: str | None = None
    if isinstance(param, TyperOption) and param.opts:
        field = max(param.opts, key=len)
    elif isinstance(param, TyperArgument):
        field = param.display_name_raw
    elif isinstance(option, str):
        field = option
    return {"error": {"code": InvalidInput.kind, "message": message, "field": field}}


def main() -> None:
    try:
        code = invoke(sys.argv[1:])
    except BrokenPipeError:
        # The reader went away (`concord roster show | head -1`): it read all it wanted.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    leave(code)
