"""What people look at: a decision's status, lists of decisions, pending answers, the roster."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import BaseModel

from cli.reading import print_status, read_back, readable, statements, status_document
from cli.session import (
    Id,
    JsonOption,
    decision_reads,
    decisions,
    emit,
    event_store,
    out,
    run,
    shown,
)
from domain.council import KEYS_STREAM
from domain.errors import InvalidInput, NotFound, Unavailable
from domain.state import ConsensusRound, DecisionState
from domain.values import Status

if TYPE_CHECKING:
    from store.eventstore import EventStore
    from store.records import StoredEvent

app = typer.Typer()
roster_app = typer.Typer(no_args_is_help=True)
"""`concord roster`: its help line is cli.app's, which lists it without importing it."""


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
        position=await store.projections.position(DECISIONS_PROJECTION), log_position=log_position
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


async def known_area(store: EventStore, area: str) -> None:
    """Refuse an area the council in force does not have (a filter on it would list nothing,
    as if no decision were in it)."""
    from cli.parsing import excerpt
    from store.councils import Councils

    roster = (await Councils(store).roster_book()).latest
    if not roster.has_area(area):
        areas = ", ".join((*roster.areas, "other"))
        raise InvalidInput(
            "--area", f"{excerpt(area)} is not an area of the council (its areas: {areas})"
        )


async def current_state(decision_id: str) -> DecisionState:
    """The decision's state after every event the log holds (the read model's copy, topped up
    from the log); from its workflow when the log cannot be read."""
    from store.states import state_now

    try:
        async with decision_reads() as reads:
            return _found(decision_id, await state_now(reads, decision_id))
    except Unavailable:
        return await _workflow_state(decision_id)


async def logged_state(decision_id: str) -> tuple[DecisionState, list[StoredEvent] | None]:
    """The decision's events in the log and its state after them (as `current_state`), read
    with the store opened once; its state from its workflow, and None for its events, when the
    log cannot be read."""
    from store.states import state_now

    try:
        async with decision_reads() as reads:
            logged = await reads.stream(decision_id)
            return _found(decision_id, await state_now(reads, decision_id)), logged
    except Unavailable:
        return await _workflow_state(decision_id), None


async def _workflow_state(decision_id: str) -> DecisionState:
    async with decisions() as client:
        return _found(decision_id, (await client.status(decision_id)).state)


def _found(decision_id: str, state: DecisionState | None) -> DecisionState:
    if state is None:
        raise NotFound(f"no decision {decision_id}")
    return state


async def logged_stream(decision_id: str) -> list[StoredEvent] | None:
    """The decision's events in the log; None when the log cannot be read."""
    try:
        async with decision_reads() as reads:
            return await reads.stream(decision_id)
    except Unavailable:
        return None


@app.command()
def status(decision_id: Id, as_json: JsonOption = False) -> None:
    """Show a whole decision: its text, rounds and answers, plan, issues, and all that was said.

    Example: concord status d-1 --json
    """

    async def work() -> None:
        state, logged = await logged_state(decision_id)
        said = statements(logged or [])
        record = read_back(logged, await logged_stream(KEYS_STREAM))
        document = status_document(state, record) | {
            "said": [entry.model_dump(mode="json") for entry in said]
        }

        def human() -> None:
            print_status(state, record)
            if said:
                out.print("  what was said:")
            for entry in said:
                words = f": {readable(entry.text)}" if entry.text else ""
                out.print(
                    f"    v{entry.version} {entry.at.isoformat()} {entry.actor} {entry.event}"
                    f"{entry.about()}{words}"
                )

        emit(document, as_json, human)

    run(work())


@app.command()
def text(
    decision_id: Id,
    revision: Annotated[
        int | None, typer.Option(help="Which revision (default: the current one).", min=1)
    ] = None,
    round_number: Annotated[
        int | None,
        typer.Option(
            "--round", help="The text a round was opened on: a revision or a resolution.", min=1
        ),
    ] = None,
    diff: Annotated[
        bool, typer.Option("--diff", help="Show the changes from the revision before it.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show a decision's text under consensus, or one revision of it, or what a revision changed;
    or the text a round was opened on (an implementation issue's resolution, for its rounds).

    Example: concord text d-1 --revision 2 --diff
    """
    if revision is not None and round_number is not None:
        raise InvalidInput("round", "a round names its own text: give --round or --revision")

    async def work() -> None:
        state = await current_state(decision_id)
        number = revision or state.current_revision.number
        if round_number is not None:
            if round_number > len(state.rounds):
                raise NotFound(f"decision {decision_id} has no round {round_number}")
            opened = state.rounds[round_number - 1]
            if opened.issue is not None:
                if diff:
                    raise InvalidInput(
                        "diff",
                        f"compares revisions of the decision's text; round {round_number} "
                        f"was opened on a resolution of {opened.subject}",
                    )
                await _print_resolution(state, opened, as_json)
                return
            number = opened.revision or number
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
            "round": round_number,
            "issue": None,
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
                out.print(readable(line))

        emit(document, as_json, human)

    run(work())


async def _print_resolution(state: DecisionState, opened: ConsensusRound, as_json: bool) -> None:
    """The resolution an implementation issue's round was opened on (the log alone keeps it)."""
    record = read_back(await logged_stream(state.decision_id))
    resolution = record.text_of(state, opened) if record is not None else None
    if resolution is None:
        raise Unavailable(
            f"the log cannot be read, and it alone keeps the resolution round {opened.number} "
            "was opened on"
        )
    document = {
        "decision_id": state.decision_id,
        "round": opened.number,
        "issue": opened.issue,
        "revision": None,
        "text": resolution,
        "text_hash": opened.text_hash,
        "by": None,
        "at": opened.opened_at.isoformat(),
        "diff": None,
    }

    def human() -> None:
        out.print(
            f"{state.decision_id} round {opened.number}, resolution of {opened.subject} "
            f"proposed at {opened.opened_at.isoformat()} ({opened.text_hash})",
            style="dim",
        )
        for line in resolution.splitlines():
            out.print(readable(line))

    emit(document, as_json, human)


@app.command("list")
def list_(
    state: Annotated[Status | None, typer.Option(help="Only in this state.")] = None,
    area: Annotated[str | None, typer.Option(help="Only in this area.")] = None,
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
            if area is not None:
                await known_area(store, area)
            rows = await list_decisions(
                store,
                state=state.value if state else None,
                area=area,
                member=member,
            )
            freshness = await read_model_freshness(store)

        def human() -> None:
            from rich.table import Column, Table

            # Ids are what people copy into the next command: whole, on one line; the other
            # columns fold to leave them room in a narrow terminal.
            table = Table(
                Column("id", no_wrap=True),
                *(
                    Column(name, overflow="fold")
                    for name in ("title", "state", "area", "proposer", "round", "issues")
                ),
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
            out.print(freshness.line(), style="dim", soft_wrap=False)

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
            from rich.table import Table

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
