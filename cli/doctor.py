"""`concord doctor`: whether the installation is sound, and what it has left undone
(cli.findings, imported when it runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.session import Id, JsonOption, decisions, emit, out, run

if TYPE_CHECKING:
    from workflows.messages import StatusResult

app = typer.Typer()


@app.command()
def doctor(
    repair: Annotated[
        bool, typer.Option("--repair", help="Archive the histories of runs that lack one.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the installation: Temporal and the event store answer, every closed run's history
    is archived, no ended decision's workflow is still open, and no decision in flight relies
    on what the council in force lacks. Exit 0 when all is sound, 1 when something is left to
    do (each finding on its own line). Decisions whose run keeps a patch's old branch are
    listed, with the command that moves them onto the current code; they are not unsound.

    Example: concord doctor --repair
    """
    from cli.findings import LAG_LIMIT, findings_of

    findings = run(findings_of(repair))

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
        for line in findings["stranded_decisions"]:
            out.print(
                f"stranded: {line} (what council {findings['council']} in force lacks); import "
                "a council file that keeps them, or withdraw or supersede the decision"
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
        if unanswered := findings["old_code_unanswered"]:
            out.print(
                f"old code: not checked for {len(unanswered)} decisions, whose runs no worker "
                f"answered for (is a worker running for their task queue?): {', '.join(unanswered)}"
            )
        for decision_id, branches in findings["old_code"].items():
            out.print(
                f"old code: {decision_id} runs the branches before {', '.join(branches)}; "
                f"`concord renew {decision_id}` moves it onto the current code"
            )
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
        or findings["stranded_decisions"]
        or findings["checkpoint_alarm"]
    )


@app.command()
def renew(decision_id: Id, as_json: JsonOption = False) -> None:
    """Move a decision in flight onto the current workflow code: its run continues as new once
    its work in hand is stored.

    `concord doctor` lists the decisions whose run keeps the old branch of a patch; once none
    does, the patch can be deprecated (README, "Changing the workflow's code"). The decision's
    log, answers and deadlines are untouched; its next run replays nothing of the old code.

    Example: concord renew d-2004-terrorism
    """

    async def work() -> StatusResult:
        async with decisions() as client:
            return await client.renew(decision_id)

    status = run(work())
    document = {
        "decision_id": decision_id,
        "run_number": status.run_number,
        "old_branches": list(status.old_branches),
    }
    emit(
        document,
        as_json,
        lambda: out.print(
            f"[green]renewed[/green] {decision_id}: run {status.run_number}, on the current code"
        ),
    )
