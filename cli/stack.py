"""The embedded stack: Temporal dev server, migrations, worker and read models, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import structlog
import typer

from cli.session import out, run
from domain.errors import InvalidInput
from runtime.decisions import DecisionClient
from runtime.devserver import DevServer
from runtime.logging import configure_logging
from runtime.settings import Settings, load_settings
from runtime.temporal import connect
from store.eventstore import EventStore, open_store
from store.migrate import upgrade
from store.projections import ProjectionRunner
from store.read_models import DecisionsProjection
from worker import build_worker
from workflows.decision import SEARCH_ATTRIBUTES

app = typer.Typer()
log = structlog.get_logger(__name__)

UI_PORT_OFFSET = 1000
"""The Web UI listens on the frontend's port + 1000 (7233 → 8233), as the dev server does."""
PROJECTION_INTERVAL = 0.5


@dataclass
class Stack:
    settings: Settings
    server: DevServer
    store: EventStore
    decisions: DecisionClient
    projections: ProjectionRunner


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    host = "127.0.0.1" if host in ("localhost", "") else host
    if not port.isdigit():
        raise InvalidInput("CONCORD_TEMPORAL_ADDRESS", f"{address!r} is not host:port")
    return host, int(port)


@contextlib.asynccontextmanager
async def embedded_stack(current: Settings) -> AsyncIterator[Stack]:
    """Start everything Concord needs on this machine; stop all of it on the way out."""
    host, port = _host_port(current.temporal_address)
    server = DevServer(
        current.data_dir / "temporal",
        host,
        port,
        port + UI_PORT_OFFSET,
        current.temporal_namespace,
        [key.name for key in SEARCH_ATTRIBUTES],
    )
    server.start()
    try:
        await server.wait_ready()
        current.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade(current.database_url)
        store = await open_store(current.database_url)
        try:
            client = await connect(current.temporal_address, current.temporal_namespace)
            runner = ProjectionRunner(store, [DecisionsProjection()])
            projecting = asyncio.create_task(runner.follow(PROJECTION_INTERVAL))
            try:
                async with build_worker(client, store, current.task_queue):
                    yield Stack(
                        current, server, store, DecisionClient(client, current.task_queue), runner
                    )
            finally:
                projecting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await projecting
                await runner.catch_up()
        finally:
            await store.close()
    finally:
        server.stop()


@app.command()
def dev(
    data_dir: Annotated[str | None, typer.Option(help="Where the stack keeps its files.")] = None,
) -> None:
    """Run the embedded stack in the foreground: Temporal, migrations, worker, read models.

    Ctrl-C or SIGTERM stops all of it; a second run on the same data directory resumes every
    decision in flight.  Example: concord dev --data-dir ./var
    """

    async def work() -> None:
        current = load_settings(data_dir=data_dir)
        configure_logging(current.log_format)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with embedded_stack(current) as stack:
            out.print(f"Temporal   {stack.server.address} (namespace {current.temporal_namespace})")
            out.print(f"Web UI     http://{stack.server.host}:{stack.server.ui_port}")
            out.print(f"Event store {current.database_url}")
            out.print(f"Worker     task queue {current.task_queue}")
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
