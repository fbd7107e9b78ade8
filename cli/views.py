"""What people look at: a decision's status, lists of decisions, pending answers, the roster."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from pydantic import BaseModel
from rich.table import Column, Table

from cli.sending import Id
from cli.session import JsonOption, decisions, emit, event_store, out, run, shown
from domain.areas import Area
from domain.errors import NotFound, Unavailable
from domain.state import DecisionState
from domain.values import Status

if TYPE_CHECKING:
    from store.eventstore import EventStore
    from store.records import StoredEvent

app = typer.Typer()
roster_app = typer.Typer(help="The Council's roster.", no_args_is_help=True)


class Freshness(BaseModel):
    """How far the read model has followed the log: lists come from it, not from the log."""

    position: int
    log_position: int

    @property
    def behind(self) -> int:
        return max(self.log_position - self.position, 0)

    def line(self) -> str:
        if not self.behind:
            return f"read model current with the log (position {self.log_position})"
        return (
            f"read model {self.behind} events behind the log (at {self.position} of "
            f"{self.log_position}): is the projector (`concord project`, `concord dev`) running?"
        )


async def read_model_freshness(store: EventStore) -> Freshness:
    from store.read_models import DECISIONS_PROJECTION

    log_position, _ = await store.head()
    return Freshness(
        position=await store.projection_position(DECISIONS_PROJECTION), log_position=log_position
    )


async def known_member(store: EventStore, code: str, bodies: bool = False) -> bool:
    """NotFound unless `code` is a member (or, with `bodies`, a body) of a roster of the
    council (any version); whether it is a body."""
    from store.councils import Councils

    rosters = await Councils(store).roster_book()
    if any(roster.is_member(code) for roster in rosters.rosters):
        return False
    if bodies and any(roster.is_body(code) for roster in rosters.rosters):
        return True
    kind = "member or body" if bodies else "member"
    raise NotFound(f"no {kind} {code!r} on any roster of the council")


def status_document(state: DecisionState) -> dict[str, Any]:
    """The `status` JSON: the documented fields first, then the whole state."""
    return {
        "decision_id": state.decision_id,
        "state": state.status.value,
        "title": state.title,
        "area": state.area.value,
        "proposer": state.proposer,
        "body": state.body,
        "roster_version": state.roster_version,
        "roster_on": state.roster_on.isoformat() if state.roster_on else None,
        "version": state.version,
        "revision": state.current_revision.number,
        "superseded_by": state.superseded_by,
        "supersedes": list(state.supersedes),
        "rounds": [
            {
                "round": r.number,
                "subject": r.subject,
                "text_hash": r.text_hash,
                "deadline": r.deadline.isoformat(),
                "roster_version": r.roster_version,
                "members": list(r.members),
                "outcome": r.outcome.value if r.outcome else None,
                "concurred": len(r.concurred),
                "objections": dict(r.objections),
                "pending": list(r.pending()),
            }
            for r in state.rounds
        ],
        "implementation_issues": [
            {
                "issue": i.number,
                "title": i.title,
                "raised_by": i.raised_by,
                "open": i.is_open,
                "resolution_round": i.resolution_round,
            }
            for i in state.issues
        ],
        "detail": state.model_dump(mode="json"),
    }


def _print_status(state: DecisionState) -> None:
    """The whole decision as a secretariat reads it: text, rounds and who said what, plan."""
    out.print(f"[bold]{state.decision_id}[/bold]  {shown(state.title)}")
    suspended = (
        f" (suspended from {state.suspended_from.value} since {state.suspended_at.isoformat()})"
        if state.suspended_from and state.suspended_at
        else ""
    )
    out.print(
        f"  state {state.status.value}{suspended}, area {state.area.value}, body {state.body}, "
        f"proposer {state.proposer}, version {state.version}"
    )
    if state.superseded_by:
        out.print(f"  superseded by {state.superseded_by}")
    for earlier in state.supersedes:
        out.print(f"  supersedes {earlier}")
    revision = state.current_revision
    out.print(f"  text, revision {revision.number} ({revision.text_hash}):")
    for line in revision.text.splitlines() or [""]:
        out.print(f"    {shown(line)}")
    if state.review:
        flagged = ", deadline missed" if state.review.deadline_flagged else ""
        outcome = state.review.outcome.value if state.review.outcome else "under way"
        out.print(
            f"  review by {state.review.committee}: {outcome}; deadline "
            f"{state.review.deadline.isoformat()}{flagged}"
        )
    for r in state.rounds:
        outcome = r.outcome.value if r.outcome else f"open until {r.deadline.isoformat()}"
        reminded = ", reminders sent" if r.reminded else ""
        out.print(f"  round {r.number} on {r.subject}: {outcome}{reminded}")
        out.print(f"    concurred ({len(r.concurred)}): {', '.join(r.concurred) or 'none'}")
        for member, reasons in r.objections.items():
            out.print(f"    {member} objects: {shown(reasons)}")
        for concern in r.concerns:
            out.print(f"    {concern.member} concern: {shown(concern.statement)}")
        if r.is_open:
            out.print(f"    not yet answered: {', '.join(r.pending()) or 'none'}")
    if state.plan:
        plan = state.plan
        received = (
            f", received {plan.report_back_received_at.isoformat()}"
            if plan.report_back_received_at
            else ""
        )
        out.print(
            f"  plan monitored by {plan.monitoring_body}: report back by "
            f"{plan.report_back_deadline.isoformat()}{received}; "
            f"{plan.progress_reports} progress reports"
        )
        for item in plan.action_items:
            done = "done" if item.item_id in plan.completed_items else "outstanding"
            who = item.assignee.code or "all members"
            out.print(f"    {item.item_id} ({who}): {shown(item.description)} — {done}")
    for i in state.issues:
        settled = "open" if i.is_open else "resolved"
        out.print(f"  issue {i.number} raised by {i.raised_by}: {shown(i.title)} — {settled}")
        if i.description:
            out.print(f"    {shown(i.description)}")
    for meeting in state.meetings:
        out.print(
            f"  extraordinary meeting requested by {meeting.requested_by} at "
            f"{meeting.at.isoformat()}: {shown(meeting.reason)}"
        )


async def current_state(decision_id: str) -> DecisionState:
    """The decision's state after every event the log holds (the read model's copy, topped up
    from the log); from its workflow when the log cannot be read."""
    from store.states import state_now

    state: DecisionState | None
    try:
        async with event_store() as store:
            state = await state_now(store, decision_id)
    except Unavailable:
        async with decisions() as client:
            state = (await client.status(decision_id)).state
    if state is None:
        raise NotFound(f"no decision {decision_id}")
    return state


async def logged_stream(decision_id: str) -> list[StoredEvent] | None:
    """The decision's events in the log; None when the log cannot be read."""
    try:
        async with event_store() as store:
            return await store.stream(decision_id)
    except Unavailable:
        return None


@app.command()
def status(decision_id: Id, as_json: JsonOption = False) -> None:
    """Show a whole decision: its text, rounds and answers, plan, issues, and all that was said.

    Example: concord status d-1 --json
    """

    async def work() -> None:
        logged = await logged_stream(decision_id)
        state = await current_state(decision_id)
        said = statements(logged or [])
        document = status_document(state) | {
            "said": [entry.model_dump(mode="json") for entry in said]
        }

        def human() -> None:
            _print_status(state)
            if said:
                out.print("  what was said:")
            for entry in said:
                out.print(
                    f"    v{entry.version} {entry.at.isoformat()} {entry.actor} {entry.event}: "
                    f"{shown(entry.text)}"
                )

        emit(document, as_json, human)

    run(work())


STATED: Final = ("reasons", "reason", "summary", "statement", "note", "description")
"""The payload fields in which someone says something: reasons, summaries, notes."""


class Statement(BaseModel):
    """One thing someone said in the decision's log: an objection's reasons, a report's summary,
    an extension's or a suspension's reason."""

    version: int
    at: datetime
    actor: str
    event: str
    text: str


def statements(logged: list[StoredEvent]) -> list[Statement]:
    """Everything said in a decision's events, in order."""
    return [
        Statement(
            version=e.stream_version,
            at=e.occurred_at,
            actor=e.actor,
            event=e.type,
            text=str(e.payload[key]),
        )
        for e in logged
        for key in STATED
        if isinstance(e.payload.get(key), str) and e.payload[key].strip()
    ]


@app.command()
def text(
    decision_id: Id,
    revision: Annotated[
        int | None, typer.Option(help="Which revision (default: the current one).", min=1)
    ] = None,
    diff: Annotated[
        bool, typer.Option("--diff", help="Show the changes from the revision before it.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show a decision's text under consensus, or one revision of it, or what a revision changed.

    Example: concord text d-1 --revision 2 --diff
    """

    async def work() -> None:
        state = await current_state(decision_id)
        number = revision or state.current_revision.number
        if number > len(state.revisions):
            raise NotFound(f"decision {decision_id} has no revision {number}")
        chosen = state.revisions[number - 1]
        before = state.revisions[number - 2] if number > 1 else None
        changes = (
            list(
                difflib.unified_diff(
                    before.text.splitlines(),
                    chosen.text.splitlines(),
                    f"revision {before.number}",
                    f"revision {chosen.number}",
                    lineterm="",
                )
            )
            if diff and before is not None
            else []
        )
        document = {
            "decision_id": decision_id,
            "revision": chosen.number,
            "text": chosen.text,
            "text_hash": chosen.text_hash,
            "by": chosen.by,
            "at": chosen.at.isoformat(),
            "diff": changes if diff else None,
        }

        def human() -> None:
            out.print(
                f"{decision_id} revision {chosen.number} by {chosen.by} at "
                f"{chosen.at.isoformat()} ({chosen.text_hash})",
                style="dim",
            )
            if diff and before is None:
                out.print("revision 1 is the text as proposed: nothing came before it")
            for line in changes if diff else chosen.text.splitlines():
                out.print(shown(line))

        emit(document, as_json, human)

    run(work())


@app.command("list")
def list_(
    state: Annotated[Status | None, typer.Option(help="Only in this state.")] = None,
    area: Annotated[Area | None, typer.Option(help="Only in this area.")] = None,
    member: Annotated[str | None, typer.Option(help="Proposed by or awaiting it.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List decisions from the read model.

    Example: concord list --state under_consensus
    """

    async def work() -> None:
        from store.queries import list_decisions

        async with event_store() as store:
            if member is not None:
                await known_member(store, member)
            rows = await list_decisions(
                store,
                state=state.value if state else None,
                area=area.value if area else None,
                member=member,
            )
            freshness = await read_model_freshness(store)

        def human() -> None:
            # Ids are what people copy into the next command: folded, never cut short.
            table = Table(
                Column("id", overflow="fold", min_width=12),
                "title",
                "state",
                "area",
                "proposer",
                "round",
                "issues",
            )
            for row in rows:
                table.add_row(
                    row.decision_id,
                    shown(row.title),
                    row.state,
                    row.area,
                    row.proposer,
                    str(row.open_round or ""),
                    str(row.open_issues),
                )
            out.print(table)
            out.print(freshness.line(), style="dim")

        emit(
            {
                "decisions": [row.model_dump(mode="json") for row in rows],
                "read_model": freshness.model_dump(mode="json"),
            },
            as_json,
            human,
        )

    run(work())


@app.command()
def pending(
    member: Annotated[str, typer.Option(help="The member's code, or a body's (PC).")],
    as_json: JsonOption = False,
) -> None:
    """What a member owes: rounds to answer and action items to carry out, soonest first; what
    a body owes: the action items assigned to it.

    Example: concord pending --member RUS
    """

    async def work() -> None:
        from store.queries import pending_for_member

        async with event_store() as store:
            body = await known_member(store, member, bodies=True)
            rows = await pending_for_member(store, member, body)

        def human() -> None:
            if not rows:
                out.print(f"{member} owes nothing.")
            for row in rows:
                by = f" by {row.deadline.isoformat()}" if row.deadline else ""
                if row.kind == "answer":
                    what = f"round {row.round} ({row.subject}): answer{by}"
                else:
                    task = "report its part (joint item)" if row.joint else "carry out"
                    what = f"action item {row.item_id} ({shown(row.subject)}): {task}{by}"
                out.print(f"{row.decision_id} {shown(row.title)} — {what}")

        emit(
            {"member": member, "pending": [row.model_dump(mode="json") for row in rows]},
            as_json,
            human,
        )

    run(work())


@roster_app.command("show")
def roster_show(
    version: Annotated[int | None, typer.Option(help="Roster version.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the roster: members, chair, bodies.

    Example: concord roster show --version 1
    """

    async def work() -> None:
        from store.councils import Councils

        async with event_store() as store:
            rosters = await Councils(store).roster_book()
        roster = rosters.latest if version is None else rosters.version(version)

        def human() -> None:
            out.print(
                f"Roster version {roster.version}, in force from "
                f"{roster.effective_from.isoformat()}; chair: {roster.chair.title}"
            )
            table = Table("code", "member state")
            for m in roster.members:
                table.add_row(m.code, m.name)
            out.print(table)
            bodies = Table("code", "body", "kind")
            for b in roster.bodies:
                bodies.add_row(b.code, b.name, b.kind.value)
            out.print(bodies)

        emit(roster.model_dump(mode="json"), as_json, human)

    run(work())
