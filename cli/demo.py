"""`concord demo`: the reference scenario of the seeds, end to end, with the audit at the end
(cli.scenario, imported when it runs)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.session import run

app = typer.Typer()


@app.command()
def demo(
    data_dir: Annotated[str | None, typer.Option(help="Where the stack keeps its files.")] = None,
) -> None:
    """Run the reference scenario from the seeds end to end, then verify the log.

    Example: concord demo
    """
    from cli.scenario import run_demo

    run(run_demo(data_dir))
