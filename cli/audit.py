"""The auditor's commands: verify the log, rebuild a decision as of an instant, replay it."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn

from audit.asof import state_as_of
from audit.replay import replay_decision
from audit.verify import LogBreak, verify_log
from cli.parsing import parse_as_of
from cli.session import JsonOption, emit, event_store, out, run, shown
from cli.views import status_document
from domain.errors import AuditFailed

app = typer.Typer(help="Verify, reconstruct and replay histories.", no_args_is_help=True)


@app.command()
def verify(as_json: JsonOption = False) -> None:
    """Recompute every hash of the log; exit 0 only when all of it verifies.

    Example: concord audit verify
    """

    async def work() -> None:
        async with event_store() as store:
            total, _ = await store.head()
            with Progress(
                TextColumn("verifying"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} events"),
                disable=as_json,
                transient=True,
            ) as bar:
                task = bar.add_task("verify", total=total)
                report = await verify_log(store, lambda n: bar.update(task, completed=n))
        where = _described(report.first_break) if report.first_break is not None else ""
        emit(
            report.model_dump(mode="json") | {"ok": report.ok},
            as_json,
            lambda: out.print(
                f"[green]verified[/green] {report.events_checked} events; head "
                f"{report.head_position} {report.head_hash}"
                if report.ok
                else f"[red]broken[/red] at {where}"
            ),
        )
        if not report.ok:
            raise AuditFailed(f"the log is broken at {where}")

    run(work())


@app.command()
def history(
    decision_id: Annotated[str, typer.Argument(metavar="ID")],
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="An ISO-8601 instant, a date (its start, UTC) or a duration ago (2d); "
            "default: now.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """A decision's events and its state rebuilt at an instant.

    Example: concord audit history d-1 --as-of 2026-12-01T12:00:00Z
    """

    async def work() -> None:
        instant = parse_as_of(as_of, "as-of")
        async with event_store() as store:
            state, events = await state_as_of(store, decision_id, instant)
        document = {
            "decision_id": decision_id,
            "as_of": instant.isoformat(),
            "events": [
                {
                    "position": e.position,
                    "version": e.stream_version,
                    "event_id": e.event_id,
                    "type": e.type,
                    "actor": e.actor,
                    "recorded_by": e.recorded_by,
                    "occurred_at": e.occurred_at.isoformat(),
                    "recorded_at": e.recorded_at.isoformat(),
                    "payload": e.payload,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                }
                for e in events
            ],
            "state": status_document(state) if state else None,
        }

        def human() -> None:
            for e in events:
                out.print(
                    f"v{e.stream_version:<4} #{e.position:<6} {e.occurred_at.isoformat()}  "
                    f"{e.actor:<6} {e.type}  {e.event_id}"
                )
                payload = json.dumps(e.payload, ensure_ascii=False, sort_keys=True)
                out.print(f"        {shown(payload)}")
                out.print(f"        prev {e.prev_hash}  hash {e.hash}", style="dim")
            out.print(
                f"state as of {instant.isoformat()}: "
                f"{state.status.value if state else 'not yet proposed'}"
            )

        emit(document, as_json, human)

    run(work())


@app.command()
def replay(
    decision_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonOption = False
) -> None:
    """Replay the decision's archived Temporal histories against the current workflow code.

    Example: concord audit replay d-1
    """

    async def work() -> None:
        async with event_store() as store:
            report = await replay_decision(store, decision_id)
        emit(
            report.model_dump(mode="json") | {"ok": report.ok},
            as_json,
            lambda: out.print(
                f"[green]replayed[/green] {report.runs} run(s): {report.events_implied} events "
                "implied, all in the log"
                if report.ok
                else "[red]mismatch[/red]: " + "; ".join(report.failures)
            ),
        )
        if not report.ok:
            raise AuditFailed("; ".join(report.failures))

    run(work())


def _described(log_break: LogBreak) -> str:
    """`position N (reason): message`, the first break as one line."""
    return f"position {log_break.position} ({log_break.reason.value}): {log_break.message}"
