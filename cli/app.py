"""The `concord` command: one entry point for operators, members and auditors.

Its commands and groups of commands (`concord status`, `concord audit ...`) are listed by their
help line and imported when one of them runs, not when `concord` starts: `concord --help`
imports none of their modules, and `concord status` imports the module that holds it, not the
transparency log's, the API's or the witness's code. `concord audit X` likewise imports the
module that holds X alone. Help is printed without rich's panels, whose import costs more than
the rest of `concord --help`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import partial
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

import typer
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.exceptions import TyperException
from typer.models import CommandInfo, TyperInfo

from domain.declarations import DECLARED, Declared
from domain.errors import ConcordError, InvalidInput
from runtime.process import leave

if TYPE_CHECKING:
    from typer._click import Command, Context, HelpFormatter

COMMANDS: Final[dict[str, dict[str, str]]] = {
    "operator": {
        "propose": "Submit a proposal: starts a decision's workflow.",
        "refer": "Refer a proposal to the Preparatory Committee.",
        "amend": "Amend the text: a new revision.",
        "review": "Complete the Preparatory Committee's review.",
        "open-round": "Open a consensus round under silence procedure.",
        "extend": "Extend a deadline.",
        "close-round": "Close a round that an objection blocks.",
        "plan": "Plan the implementation.",
        "resolve-issue": "Put a resolution under silence procedure.",
        "complete": "Record the decision as completed.",
        "supersede": "Record that a later, adopted decision supersedes this one (in "
        "implementation or completed); both decisions record the link.",
        "suspend": "Suspend a decision: its deadlines pause.",
        "resume": "Resume a suspended decision.",
    },
    "views": {
        "status": "Show a whole decision: its text, rounds and answers, plan, issues, and all "
        "that was said.",
        "text": "Show a decision's text under consensus, or one revision of it, or what a "
        "revision changed; or the text a round was opened on (an implementation issue's "
        "resolution, for its rounds).",
        "list": "List decisions from the read model.",
        "pending": "What a member owes: rounds to answer and action items to carry out, soonest "
        "first; what a body owes: the action items assigned to it.",
    },
    "stack": {
        "dev": "Run the embedded stack in the foreground: Temporal, migrations, worker, projector.",
        "api": "Serve the HTTP API alone (production: beside workers and one projector).",
        "project": "Keep the read models (decision lists, pending answers) current with the log.",
    },
    "demo": {
        "demo": "Run the reference scenario from the seeds end to end, then verify the log.",
    },
    "doctor": {
        "doctor": "Check the installation: Temporal and the event store answer, every closed "
        "run's history is archived, no ended decision's workflow is still open, and no decision "
        "in flight relies on what the council in force lacks. Exit 0 when all is sound, 1 when "
        "something is left to do (each finding on its own line). Decisions whose run keeps a "
        "patch's old branch are listed, with the command that moves them onto the current code; "
        "they are not unsound.",
        "renew": "Move a decision in flight onto the current workflow code: its run continues as "
        "new once its work in hand is stored.",
    },
}
"""The top-level commands by the module that holds them (`cli.<module>`), each with its help
line: the first paragraph of its docstring, which tests/unit/test_cli_startup.py holds it to.
The members' commands are not here: each is derived from its declaration (cli.declared)."""


AUDIT: Final[dict[str, str]] = {
    "verify": "audit",
    "history": "audit",
    "state": "audit",
    "replay": "audit",
    "refusals": "audit",
    "answers": "audit",
    "access": "audit",
    "keygen": "transparency",
    "pubkey": "transparency",
    "checkpoint": "transparency",
    "prove": "transparency",
    "check": "transparency",
    "tiles": "transparency",
    "witness": "transparency",
    "witness-key": "transparency",
    "export": "transparency",
    "checkpoints": "checkpoints",
    "schedule": "checkpoints",
    "monitor": "monitor",
}
"""`concord audit`'s commands, in the order its help lists them, by the module that holds each
(`cli.<module>`): the audit commands, then the transparency log's."""


def _audit() -> typer.Typer:
    """`concord audit`: its commands are Audit's, imported one module at a time."""
    return typer.Typer(cls=Audit, no_args_is_help=True)


def _module_app(name: str, attribute: str = "app") -> Callable[[], typer.Typer]:
    def load() -> typer.Typer:
        loaded: typer.Typer = getattr(import_module(f"cli.{name}"), attribute)
        return loaded

    return load


GROUPS: Final[dict[str, tuple[str, Callable[[], typer.Typer]]]] = {
    "roster": ("The Council's roster.", _module_app("views", "roster_app")),
    "db": ("The event store's schema.", _module_app("stack", "db_app")),
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
    "keys": (
        "Delegations' signing keys: generated, registered, rotated, revoked.",
        _module_app("keys"),
    ),
    "webhooks": ("Webhooks: notable events POSTed, signed, to endpoints.", _module_app("webhooks")),
    "witness": (
        "A witness of Concord logs over HTTP (C2SP tlog-witness).",
        _module_app("witness"),
    ),
}
"""The groups of commands: their help line here, their commands in their module's Typer."""


def help_line(command: Command) -> str:
    """What a list of commands says of `command`: the first paragraph of its help, on one line."""
    said = command.short_help or command.help or ""
    return " ".join(said.split("\n\n")[0].split())


class Group(TyperGroup):
    """A group whose list of commands gives each one's help line whole (click's cuts it short
    at the terminal's width)."""

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = [(name, help_line(c)) for name, c in self.commands.items() if not c.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class Listed(TyperCommand):
    """A command or a group as `concord --help` lists it; `load` imports and builds it."""

    def __init__(self, name: str, help: str, load: Callable[[], Command]) -> None:
        super().__init__(name=name, help=help)
        self.load = load


class Lazy(Group):
    """A group whose commands are Listed until one is asked for: then it alone is imported."""

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, Listed):
            command = self.commands[cmd_name] = command.load()
        return command

    def _command(self, module: str, name: str) -> Command:
        registered = import_module(f"cli.{module}").app.registered_commands
        [info] = [
            info
            for info in registered
            if name == (info.name or typer.main.get_command_name(info.callback.__name__))
        ]
        return typer.main.get_command_from_info(
            info,
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=self.rich_markup_mode,
        )


class Audit(Lazy):
    """`concord audit`: `concord audit X` imports the module that holds X (AUDIT), not the
    others nor what their commands need; the list of commands imports them all, for their help."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        for name, module in AUDIT.items():
            self.add_command(Listed(name, "", partial(self._command, module, name)))

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        for name in AUDIT:
            self.get_command(ctx, name)
        super().format_commands(ctx, formatter)


class Concord(Lazy):
    """The top-level group: every command and group listed, each built when it is asked for
    (to run it, or its help), never all of them."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        for module, commands in COMMANDS.items():
            for name, help in commands.items():
                self.add_command(Listed(name, help, partial(self._command, module, name)))
            if module == "operator":  # the members' commands follow the chair's
                for declared in DECLARED:
                    if declared.cli is not None:
                        verb, line = declared.cli.verb, declared.cli.help_line
                        self.add_command(Listed(verb, line, partial(self._declared, declared)))
        for name, (help, load) in GROUPS.items():
            self.add_command(Listed(name, help, partial(self._group, name, help, load)))

    def _declared(self, declared: Declared) -> Command:
        from cli.declared import DeclaredCommand

        command = DeclaredCommand(declared)
        assert declared.cli is not None
        return typer.main.get_command_from_info(
            CommandInfo(name=declared.cli.verb, callback=command, help=command.__doc__),
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=self.rich_markup_mode,
        )

    def _group(self, name: str, help: str, load: Callable[[], typer.Typer]) -> Command:
        loaded = load()
        # A group of its own kind (Audit) keeps it; the others are listed as Group lists them.
        cls = loaded.info.cls if isinstance(loaded.info.cls, type) else Group
        return typer.main.get_group_from_info(
            TyperInfo(loaded, name=name, help=help, cls=cls),
            pretty_exceptions_short=app.pretty_exceptions_short,
            suggest_commands=self.suggest_commands,
            rich_markup_mode=self.rich_markup_mode,
        )


app = typer.Typer(
    name="concord",
    help="Joint decisions by consensus: propose, review, decide under silence, implement, audit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},  # click's default, 80, cuts examples in two
    cls=Concord,
)


@app.callback()
def concord() -> None:
    # Typer makes a group of an app with a callback; the commands are Concord's, not the app's.
    pass


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
    except NoArgsIsHelpError as asked:  # a group given no command: its help
        print(asked.format_message())
        return 2
    except TyperException as error:
        message = error.format_message()
        print(f"concord: {message}", file=sys.stderr)
        if "--json" in args:
            print(json.dumps(_usage_document(error, message)))
        return 2
    except ConcordError as raised:
        from cli.parsing import as_typed

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
