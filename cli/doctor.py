"""`concord doctor`: whether the installation is sound, and what it has left undone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final

import typer
from sqlalchemy.engine import make_url

from activities.events import archive_run
from audit.checkpoint import checked_head_root
from audit.note import Signer
from audit.tree import TREE
from cli.session import JsonOption, decisions, emit, event_store, out, run, settings
from domain.errors import ConcordError, InvalidHistory, InvalidInput
from domain.values import TERMINAL
from runtime.bootstrap import PROJECTOR_LEASE, projector
from runtime.decisions import DecisionRun
from store.councils import Councils
from store.eventstore import EventStore
from store.leases import DEFAULT_TTL_S, LeaseRow
from store.migrate import head_revision
from store.queries import list_decisions, open_decision_states

app = typer.Typer()

LAG_LIMIT: Final = 1_000
"""A projection this many events behind the log is reported: is `concord project` running?"""
SILENT_PROJECTOR_S: Final = 2 * DEFAULT_TTL_S
"""A projector whose heartbeat is older than this, while events wait, has stopped."""
CLOSED_RUNS = ("Completed", "ContinuedAsNew")
"""Runs whose history a decision archives: the one it closed with and each it continued from."""


async def _findings(repair: bool) -> dict[str, Any]:
    async with decisions() as client, event_store() as store:
        closed = await client.runs(*CLOSED_RUNS)
        archived = await store.archived_runs([r.run_id for r in closed])
        missing = [r for r in closed if r.run_id not in archived]
        repaired: list[DecisionRun] = []
        failed: dict[str, str] = {}
        if repair:
            for r in missing:
                try:
                    await archive_run(
                        client.temporal, store, r.decision_id, r.workflow_id, r.run_id
                    )
                except ConcordError as error:
                    failed[r.run_id] = error.message
                else:
                    repaired.append(r)
        head_position, head_hash = await store.head()
        runner = projector(store)
        lag = {name: head_position - await runner.position(name) for name in runner.projections}
        lease = await store.leases.lease(PROJECTOR_LEASE)
        checkpoint_alarm = await _checkpoint_alarm(store, lag)
        council = await Councils(store).in_force()
        bodies = {body.code for body in council.bodies}
        orphaned = [
            {"decision_id": state.decision_id, "state": state.status.value, "body": code}
            for state in await open_decision_states(store)
            for code in state.bodies_awaited
            if code not in bodies
        ]
        terminal = {s.value for s in TERMINAL}
        ended = {row.decision_id for row in await list_decisions(store) if row.state in terminal}
        running = await client.runs("Running")
        not_closed = sorted(r.decision_id for r in running if r.decision_id in ended)
    current = settings()
    return {
        "settings": {
            "temporal_address": current.temporal_address,
            "temporal_namespace": current.temporal_namespace,
            "task_queue": current.task_queue,
            "database": make_url(current.database_url).render_as_string(hide_password=True),
        },
        "schema_revision": head_revision(),
        "chain_head": {"position": head_position, "hash": head_hash},
        "projector_lag": lag,
        "projections_behind": sorted(name for name, events in lag.items() if events > LAG_LIMIT),
        "projector": _projector(lease, max(lag.values(), default=0)),
        "council": council.code,
        "waiting_on_missing_bodies": orphaned,
        "checkpoint_alarm": checkpoint_alarm,
        "closed_runs": len(closed),
        "unarchived_runs": [
            {"decision_id": r.decision_id, "run_id": r.run_id, "status": r.status}
            for r in missing
            if r not in repaired
        ],
        "archived_now": [{"decision_id": r.decision_id, "run_id": r.run_id} for r in repaired],
        "archive_errors": failed,
        "ended_but_running": not_closed,
    }


@app.command()
def doctor(
    repair: Annotated[
        bool, typer.Option("--repair", help="Archive the histories of runs that lack one.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the installation: Temporal and the event store answer, every closed run's history
    is archived, and no ended decision's workflow is still open. Exit 0 when all is sound, 1
    when something is left to do (each finding on its own line).

    Example: concord doctor --repair
    """
    findings = run(_findings(repair))

    def human() -> None:
        given = findings["settings"]
        out.print(
            f"Temporal answers at {given['temporal_address']} "
            f"(namespace {given['temporal_namespace']}, task queue {given['task_queue']});"
            f" the event store at {given['database']}, schema {findings['schema_revision']}."
        )
        head = findings["chain_head"]
        out.print(f"The log's head: position {head['position']}, hash {head['hash']}.")
        lags = ", ".join(f"{name} {events}" for name, events in findings["projector_lag"].items())
        out.print(f"Events the projections have still to apply: {lags}.")
        out.print(f"{findings['closed_runs']} closed runs.")
        active = findings["projector"]
        if active["holder"] is not None:
            out.print(
                f"The projector {active['holder']} beat {active['silent_seconds']:.1f} s ago."
            )
        if active["stopped"]:
            since = (
                "no projector has ever followed the log"
                if active["silent_seconds"] is None
                else f"the projector last beat {active['silent_seconds']:.0f} s ago"
            )
            out.print(
                f"stopped: {since}, and {active['events_waiting']} events wait for it; "
                "is `concord project` running?"
            )
        if findings["checkpoint_alarm"]:
            out.print(f"checkpoint withheld: {findings['checkpoint_alarm']}")
        for orphan in findings["waiting_on_missing_bodies"]:
            out.print(
                f"no such body: {orphan['decision_id']} ({orphan['state']}) waits on "
                f"{orphan['body']}, which council {findings['council']} no longer has; import a "
                "council file that keeps it, or withdraw or supersede the decision"
            )
        for name in findings["projections_behind"]:
            out.print(
                f"behind: the {name} projection lags the log by more than {LAG_LIMIT} events; "
                "is `concord project` running?"
            )
        for r in findings["archived_now"]:
            out.print(f"archived now: {r['decision_id']} run {r['run_id']}")
        for r in findings["unarchived_runs"]:
            out.print(
                f"not archived: {r['decision_id']} run {r['run_id']} ({r['status'].lower()}); "
                "`concord doctor --repair` archives it"
            )
        for run_id, message in findings["archive_errors"].items():
            out.print(f"archive failed: run {run_id}: {message}")
        for decision_id in findings["ended_but_running"]:
            out.print(f"not closed: {decision_id} has ended but its workflow still runs")
        if not _unsound(findings):
            out.print("[green]sound[/green]")

    emit(findings, as_json, human)
    if _unsound(findings):
        raise typer.Exit(1)


def _unsound(findings: dict[str, Any]) -> bool:
    return bool(
        findings["unarchived_runs"]
        or findings["ended_but_running"]
        or findings["projections_behind"]
        or findings["projector"]["stopped"]
        or findings["waiting_on_missing_bodies"]
        or findings["checkpoint_alarm"]
    )


async def _checkpoint_alarm(store: EventStore, lag: dict[str, int]) -> str | None:
    """Why the log's next checkpoint would be withheld (the signer's own check, run on the tree
    as the projector left it), or None; nothing to say without the log's key or a checkpoint."""
    current = settings()
    try:
        key = Signer.parse(current.signing_key_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, InvalidInput):
        return None
    if await store.latest_checkpoint() is None:
        return None
    head, _ = await store.head()
    try:
        await checked_head_root(store, head - lag[TREE], key.verifier)
    except InvalidHistory as error:
        return error.message
    return None


def _projector(lease: LeaseRow | None, waiting: int) -> dict[str, Any]:
    """Who follows the log, how long since its last heartbeat, and whether it has stopped: a
    projector that has not beaten for a while, or never ran, while events wait for it."""
    silent = None if lease is None else (datetime.now(UTC) - lease.beat_at).total_seconds()
    return {
        "holder": None if lease is None else lease.holder,
        "silent_seconds": silent,
        "events_waiting": waiting,
        "stopped": waiting > 0 and (silent is None or silent > SILENT_PROJECTOR_S),
    }
