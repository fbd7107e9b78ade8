"""The stack's commands: the embedded one (`dev`), the projector alone, the schema's upgrade."""

from __future__ import annotations

import asyncio
from typing import Annotated

import structlog
import typer

from cli.session import out, run
from runtime.bootstrap import embedded_stack, run_projector, stop_on_signals
from runtime.logging import configure_logging
from runtime.settings import load_settings
from store.migrate import upgrade

app = typer.Typer()
log = structlog.get_logger(__name__)


@app.command()
def dev(
    data_dir: Annotated[str | None, typer.Option(help="Where the stack keeps its files.")] = None,
) -> None:
    """Run the embedded stack in the foreground: Temporal, migrations, worker, projector.

    Ctrl-C or SIGTERM stops all of it; a second run on the same data directory resumes every
    decision in flight.  Example: concord dev --data-dir ./var
    """

    async def work() -> None:
        current = load_settings(data_dir=data_dir)
        configure_logging(current.log_format)
        stop = asyncio.Event()
        stop_on_signals(stop)
        async with embedded_stack(current) as stack:
            out.print(f"Temporal   {stack.server.address} (namespace {current.temporal_namespace})")
            out.print(f"Web UI     http://{stack.server.host}:{stack.server.ui_port}")
            out.print(f"Event store {current.database_url}")
            out.print(f"Worker     task queue {current.task_queue}")
            out.print("Projector  read models follow the log")
            out.print("Ready. Ctrl-C stops everything.")
            await stop.wait()
            out.print("Stopping ...")
        out.print("Stopped.")

    run(work())


db_app = typer.Typer(help="The event store's schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the event store to the newest schema.

    Example: CONCORD_DATABASE_URL=postgresql+asyncpg://concord@db/concord concord db upgrade
    """

    async def work() -> None:
        current = load_settings()
        if current.database_url.startswith("sqlite"):
            current.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade(current.database_url)
        out.print(f"The event store at {current.database_url} is at the newest schema.")

    run(work())


@app.command()
def project() -> None:
    """Keep the read models (decision lists, pending answers) current with the log.

    Run exactly one per deployment (`concord dev` runs its own); SIGTERM stops it with exit 0.
    Example: CONCORD_DATABASE_URL=postgresql+asyncpg://concord@db/concord concord project
    """

    async def work() -> None:
        current = load_settings()
        configure_logging(current.log_format)
        await run_projector(current)

    run(work())
