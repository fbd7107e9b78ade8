"""`concord audit checkpoints`: the log's checkpoints published on schedule and kept, and the
latest one's signed note, as an auditor takes it away."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Final

import typer

from cli.session import JsonOption, emit, event_store, out, run, settings
from domain.errors import NotFound

if TYPE_CHECKING:  # the list of checkpoints reads the store; the schedule alone needs Temporal
    from store.checkpoints import KeptCheckpoint

app = typer.Typer()

_PAGE: Final = 1_000


@app.command("checkpoints")
def checkpoints_command(
    latest: Annotated[
        bool, typer.Option("--latest", help="Print the latest checkpoint's signed note.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List the checkpoints published and kept, oldest first: tree size, root hash, when.
    With --latest, print the latest one's signed note (what `prove --checkpoint` takes).

    Example: concord audit checkpoints --latest > cp-latest
    """

    async def work() -> None:
        async with event_store() as store:
            if latest:
                found = await store.checkpoints.latest()
                if found is None:
                    raise NotFound(
                        "no checkpoint kept yet: the schedule publishes one when the "
                        "log has grown and there is a signing key"
                    )
                emit(found, as_json, lambda: print(found.signed, end=""))
                return
            kept: list[KeptCheckpoint] = []
            while page := await store.checkpoints.after(kept[-1].position if kept else 0, _PAGE):
                kept.extend(page)

        def human() -> None:
            from rich.table import Table

            if not kept:
                out.print("no checkpoints kept")
                return
            table = Table("#", "size", "root", "created")
            for checkpoint in kept:
                table.add_row(
                    str(checkpoint.position),
                    str(checkpoint.size),
                    checkpoint.root,
                    checkpoint.created_at.isoformat(timespec="seconds"),
                )
            out.print(table)

        emit(
            {"checkpoints": [c.model_dump(mode="json", exclude={"signed"}) for c in kept]},
            as_json,
            human,
        )

    run(work())


@app.command("schedule")
def schedule() -> None:
    """Create (or update) the Temporal Schedule that publishes a checkpoint every
    CONCORD_CHECKPOINT_INTERVAL_SECONDS: once per deployment (`concord dev` does it itself).

    Example: concord audit schedule
    """
    from runtime.schedules import ensure_checkpoint_schedule
    from runtime.temporal import connect

    async def work() -> None:
        current = settings()
        client = await connect(current.temporal_address, current.temporal_namespace)
        interval = timedelta(seconds=current.checkpoint_interval_seconds)
        handle = await ensure_checkpoint_schedule(client, current.task_queue, interval)
        out.print(f"schedule {handle.id}: a checkpoint every {interval}")

    run(work())
