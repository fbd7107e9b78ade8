"""`concord witness serve|key`: a witness of other installations' logs over HTTP (C2SP
tlog-witness), run by someone other than the log's operator: a delegation, an auditor."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from api.witness import serve_witness
from audit.note import Verifier
from audit.witness import Witness, WitnessService
from cli.parsing import read_text_file
from cli.session import run
from domain.errors import InvalidInput
from runtime.logging import configure_logging
from runtime.process import stop_on_signals

app = typer.Typer(no_args_is_help=True)
"""Its help line is cli.app's, which lists it without importing it."""

StateOption = Annotated[
    Path, typer.Option(help="The witness's directory: its key and the checkpoints it cosigned.")
]
NameOption = Annotated[
    str, typer.Option(help="The witness's name (a schema-less URL), when its key is made.")
]


def log_keys(values: list[str]) -> list[Verifier]:
    """The verifier keys of the logs witnessed, each given as is or as a file holding it; one
    per origin."""
    if not values:
        raise InvalidInput("log", "give the verifier key of each log to witness (--log)")
    keys = []
    for value in values:
        given = Path(value)
        keys.append(Verifier.parse(read_text_file(given, "log") if given.exists() else value))
    origins = [key.name for key in keys]
    if len(set(origins)) != len(origins):
        raise InvalidInput("log", "one key per log origin")
    return keys


@app.command()
def serve(
    state: StateOption,
    log: Annotated[
        list[str], typer.Option(help="A log's verifier key, or a file holding it (repeat).")
    ],
    name: NameOption = "witness.local/concord",
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.", min=1, max=65535)] = 8700,
) -> None:
    """Serve `POST /add-checkpoint` for the logs given: a checkpoint that extends the one last
    cosigned for its log is cosigned; a rollback or a fork is refused (409, 422) and logged.
    SIGTERM stops it with exit 0.

    Example: concord witness serve --state ./w --log concord.vkey --name w1.example/witness
    """
    keys = log_keys(log)

    async def work() -> None:
        configure_logging("auto")
        stop = asyncio.Event()
        stop_on_signals(stop)
        await serve_witness(WitnessService(state, name, keys), host, port, stop)

    run(work())


@app.command()
def key(state: StateOption, name: NameOption = "witness.local/concord") -> None:
    """Print the witness's cosigner key (name+id+key, cosignature/v1), making it on first use:
    the key a log's operator and its auditors name in their witness policy.

    Example: concord witness key --state ./w >> policy
    """
    print(Witness.in_state(state, name).key.encode())
