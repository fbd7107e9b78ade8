"""`concord meetings`: the bodies' sittings — their schedules, their records and agendas, and
whether each body kept its minimum."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.parsing import parse_as_of
from cli.session import (
    JsonOption,
    council_in_force,
    emit,
    event_store,
    out,
    principal,
    run,
    settings,
    shown,
)
from domain.council_events import ItemOutcome, sitting_record
from domain.errors import Conflict, InvalidInput, NotFound, Refusal, Rule
from domain.values import AgendaItemKind
from runtime.meetings import sync_meeting_schedules
from runtime.temporal import connect
from store.council_events import new_council_event
from store.councils import (
    BodyCompliance,
    Councils,
    PendingAgenda,
    compliance,
    pending_agenda,
    window,
)
from store.queries import kept_sitting, recorded_sittings

app = typer.Typer(no_args_is_help=True)
"""Its help line is cli.app's, which lists it without importing it."""

FromOption = Annotated[str | None, typer.Option("--from", help="Start (YYYY-MM-DD or instant).")]
ToOption = Annotated[str | None, typer.Option("--to", help="End, excluded (default: now).")]


def _window(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    return window(parse_as_of(start, "from") if start else None, parse_as_of(end, "to"))


@app.command("sync")
def sync(as_json: JsonOption = False) -> None:
    """Create or update one Temporal Schedule per body with a rule (`sittings-<body>`), from the
    council in force; running it again changes nothing. `concord dev` runs it at each start.

    Example: concord meetings sync
    """

    async def work() -> list[dict[str, Any]]:
        current = settings()
        council = await council_in_force()
        client = await connect(current.temporal_address, current.temporal_namespace)
        synced = await sync_meeting_schedules(client, council, current.task_queue)
        return [
            {
                "body": s.body,
                "schedule_id": s.schedule_id,
                "outcome": s.outcome,
                "next_sitting": s.next_sitting.isoformat() if s.next_sitting else None,
            }
            for s in synced
        ]

    rows = run(work())

    def human() -> None:
        table = Table("body", "schedule", "outcome", "next sitting")
        for row in rows:
            table.add_row(row["body"], row["schedule_id"], row["outcome"], row["next_sitting"])
        out.print(table)

    emit({"schedules": rows}, as_json, human)


@app.command("list")
def list_sittings(
    body: Annotated[str | None, typer.Option(help="Only this body's sittings.")] = None,
    start: FromOption = None,
    end: ToOption = None,
    as_json: JsonOption = False,
) -> None:
    """The sittings the log records (the last year's by default).

    Example: concord meetings list --body PC --from 2026-01-01
    """
    since, until = _window(start, end)

    async def work() -> list[dict[str, Any]]:
        async with event_store() as store:
            sittings = await recorded_sittings(store, since, until, body)
        return [
            {
                "meeting_id": s.stream_id,
                "body": s.body,
                "sitting_at": s.sitting_at.isoformat(),
                "kind": s.kind.value,
                "agenda_items": len(s.agenda),
                "request": s.request,
            }
            for s in sittings
        ]

    rows = run(work())

    def human() -> None:
        table = Table("meeting", "body", "sitting at", "kind", "agenda")
        for row in rows:
            table.add_row(
                row["meeting_id"],
                row["body"],
                row["sitting_at"],
                row["kind"],
                str(row["agenda_items"]),
            )
        out.print(table)

    emit({"sittings": rows}, as_json, human)


@app.command("show")
def show(meeting_id: str, as_json: JsonOption = False) -> None:
    """One sitting as its stream records it: body, instant, kind, agenda.

    Example: concord meetings show meeting.pc-20261209t1000z
    """

    async def work() -> dict[str, Any]:
        async with event_store() as store:
            kept = await kept_sitting(store, _meeting(meeting_id))
        if kept is None:
            raise NotFound(f"no sitting {meeting_id} in the log")
        document = kept.convened.model_dump(mode="json")
        document["position"] = kept.position
        document["record"] = kept.record.model_dump(mode="json") if kept.record else None
        return document

    document = run(work())

    def human() -> None:
        out.print(
            f"{shown(document['stream_id'])}: {document['body']} sat {document['sitting_at']} "
            f"({document['kind']})"
        )
        _print_agenda(document["agenda"])
        if document["record"]:
            out.print(f"present: {', '.join(document['record']['present'])}")
            for o in document["record"]["outcomes"]:
                out.print(f"  {o['decision_id']} {o['item']}: {shown(o['outcome'])}")

    emit(document, as_json, human)


@app.command("record")
def record(
    meeting_id: str,
    present: Annotated[
        list[str], typer.Option("--present", help="A member recorded present; repeat for each.")
    ],
    outcomes: Annotated[
        list[str] | None,
        typer.Option("--outcome", help="DECISION:ITEM:OUTCOME for an agenda item; repeat."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Keep a sitting's record, once, after it sat: who was present, what each item concluded.

    Example: concord meetings record meeting.pc-20261209t1000z --present POL --present RUS
    --outcome "d-terror:proposal_for_review:Forwarded to the Ambassadors"
    """
    concluded = tuple(_outcome(spec) for spec in outcomes or [])

    async def work() -> dict[str, Any]:
        current = settings()
        async with event_store(current) as store:
            kept = await kept_sitting(store, _meeting(meeting_id))
            if kept is None:
                raise NotFound(f"no sitting {meeting_id} in the log")
            sitting = kept.convened
            council = await Councils(store).in_force()
            roster = council.roster_book().snapshot_at(sitting.sitting_at)
            members = roster.body_members(sitting.body) if roster.is_body(sitting.body) else ()
            record = sitting_record(
                sitting,
                kept.record is not None,
                members,
                tuple(present),
                concluded,
                datetime.now(UTC),
                principal(current),
            )
            try:
                [written] = await store.append(meeting_id, 1, [new_council_event(record)])
            except Conflict:
                raise Refusal(
                    Rule.WRONG_STATE,
                    f"{meeting_id} is recorded already",
                    meeting=meeting_id,
                    status="recorded",
                ) from None
        return {"meeting_id": meeting_id, "position": written.position, "hash": written.hash}

    document = run(work())
    emit(document, as_json, lambda: out.print(f"{meeting_id}: recorded at {document['position']}"))


def _meeting(meeting_id: str) -> str:
    if not meeting_id.startswith("meeting."):
        raise InvalidInput("meeting_id", "a sitting's id starts with `meeting.`")
    return meeting_id


def _outcome(spec: str) -> ItemOutcome:
    parts = [p.strip() for p in spec.split(":", 2)]
    if len(parts) != 3 or not all(parts):
        raise InvalidInput("outcome", f"{spec!r} is not DECISION:ITEM:OUTCOME")
    kinds = ", ".join(k.value for k in AgendaItemKind)
    if parts[1] not in {k.value for k in AgendaItemKind}:
        raise InvalidInput("outcome", f"{parts[1]!r} is not an agenda item ({kinds})")
    return ItemOutcome(decision_id=parts[0], item=AgendaItemKind(parts[1]), outcome=parts[2])


@app.command("agenda")
def agenda(
    body: str,
    at: Annotated[str | None, typer.Option(help="Instant (default: now).")] = None,
    as_json: JsonOption = False,
) -> None:
    """What a body would have before it at a sitting now (or at `--at`): read, not recorded.

    Example: concord meetings agenda NRC-AMB
    """
    instant = parse_as_of(at, "at")

    async def work() -> PendingAgenda:
        async with event_store() as store:
            return await pending_agenda(store, body, instant)

    pending = run(work())
    document = pending.model_dump(mode="json")

    def human() -> None:
        following = document["next_sitting"] or "none set"
        out.print(f"{document['body']} at {document['at']}; next sitting {following}")
        _print_agenda(document["agenda"])

    emit(document, as_json, human)


@app.command("report")
def report(start: FromOption = None, end: ToOption = None, as_json: JsonOption = False) -> None:
    """Per body: the sittings its rule sets, those held, and every period below its minimum
    (flagged). Exit code 0 either way: the report is the finding.

    Example: concord meetings report --from 2026-01-01 --to 2027-01-01
    """
    since, until = _window(start, end)

    async def work() -> list[BodyCompliance]:
        async with event_store() as store:
            return await compliance(store, since, until)

    rows = run(work())

    def human() -> None:
        table = Table("body", "minimum", "set by rule", "required", "held", "finding")
        for row in rows:
            finding = (
                f"[red]below minimum in {len(row.short_periods)} period(s)[/red]"
                if row.below_minimum
                else "kept"
            )
            table.add_row(
                row.body,
                row.minimum or "ad hoc",
                str(row.set_by_rule),
                str(row.required),
                str(row.held),
                finding,
            )
        out.print(f"sittings from {since.isoformat()} to {until.isoformat()}")
        out.print(table)

    document = {
        "from": since.isoformat(),
        "to": until.isoformat(),
        "bodies": [r.model_dump(mode="json") for r in rows],
    }
    emit(document, as_json, human)


def _print_agenda(items: list[dict[str, Any]]) -> None:
    if not items:
        out.print("  nothing on the agenda")
        return
    table = Table("decision", "item", "detail")
    for item in items:
        table.add_row(item["decision_id"], item["item"], shown(item["detail"]))
    out.print(table)
