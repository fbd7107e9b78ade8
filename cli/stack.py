"""The stack's commands: the embedded one (`dev`), the projector alone, the schema's upgrade."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.session import out, run

app = typer.Typer()


@app.command()
def dev(
    data_dir: Annotated[str | None, typer.Option(help="Where the stack keeps its files.")] = None,
) -> None:
    """Run the embedded stack in the foreground: Temporal, migrations, worker, projector.

    Ctrl-C or SIGTERM stops all of it; a second run on the same data directory resumes every
    decision in flight.  Example: concord dev --data-dir ./var
    """

    import asyncio

    from api.main import api_serving
    from runtime.bootstrap import embedded_stack
    from runtime.logging import configure_logging
    from runtime.process import stop_on_signals
    from runtime.settings import load_settings
    from store.engine import url_without_password

    async def work() -> None:
        current = load_settings(data_dir=data_dir)
        as_json = configure_logging(current.log_format)
        stop = asyncio.Event()
        stop_on_signals(stop)
        async with (
            embedded_stack(current) as stack,
            api_serving(current, stack.decisions, stack.store),
        ):
            api = f"http://{current.api_host}:{current.api_port}"
            database = url_without_password(current.database_url)
            web_ui = f"http://{stack.server.host}:{stack.server.ui_port}"
            if as_json:  # not on a terminal: the banner is a record of the log, like the rest
                _log().info(
                    "stack ready",
                    temporal=stack.server.address,
                    namespace=current.temporal_namespace,
                    web_ui=web_ui,
                    api=api,
                    event_store=database,
                    task_queue=current.task_queue,
                )
            else:
                out.print(
                    f"Temporal   {stack.server.address} (namespace {current.temporal_namespace})"
                )
                out.print(f"Web UI     {web_ui}")
                out.print(f"API        {api} (docs at {api}/docs)")
                out.print(f"Event store {database}")
                out.print(f"Worker     task queue {current.task_queue}")
                out.print("Projector  read models follow the log")
                out.print("Ready. Ctrl-C stops everything.")
            await stop.wait()
            _say(as_json, "stack stopping", "Stopping ...")
        _say(as_json, "stack stopped", "Stopped.")

    run(work())


def _say(as_json: bool, record: str, line: str) -> None:
    """A step of the stack's life: a log record in JSON mode, a line for a person otherwise."""
    if as_json:
        _log().info(record)
    else:
        out.print(line)


def _log() -> Any:
    import structlog

    return structlog.get_logger(__name__)


db_app = typer.Typer(no_args_is_help=True)
"""`concord db`: its help line is cli.app's, which lists it without importing it."""


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the event store to the newest schema.

    Example: CONCORD_DATABASE_URL=postgresql+asyncpg://concord@db/concord concord db upgrade
    """

    from runtime.settings import load_settings
    from store.migrate import upgrade

    async def work() -> None:
        current = load_settings()
        if current.database_url.startswith("sqlite"):
            current.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade(current.database_url)
        out.print(f"The event store at {current.database_url} is at the newest schema.")

    run(work())


@app.command()
def api() -> None:
    """Serve the HTTP API alone (production: beside workers and one projector).

    Listens on CONCORD_API_HOST:CONCORD_API_PORT; SIGTERM stops it with exit 0.
    Example: CONCORD_API_HOST=0.0.0.0 concord api
    """

    from api.main import run_api
    from runtime.logging import configure_logging
    from runtime.settings import load_settings

    async def work() -> None:
        current = load_settings()
        configure_logging(current.log_format)
        await run_api(current)

    run(work())


@app.command()
def project() -> None:
    """Keep the read models (decision lists, pending answers) current with the log.

    Run exactly one per deployment (`concord dev` runs its own); SIGTERM stops it with exit 0.
    Example: CONCORD_DATABASE_URL=postgresql+asyncpg://concord@db/concord concord project
    """

    from runtime.bootstrap import run_projector
    from runtime.logging import configure_logging
    from runtime.settings import load_settings

    async def work() -> None:
        current = load_settings()
        configure_logging(current.log_format)
        await run_projector(current)

    run(work())
