"""The operators' commands: what the secretariat and the chair record for the Council."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.parsing import build, duration_seconds, new_decision_id, parse_deadline
from cli.sending import (
    ChairOption,
    TextFileOption,
    TextOption,
    open_round_of,
    send,
    text_of,
)
from cli.session import (
    ActorOption,
    Id,
    JsonOption,
    KeyOption,
    commands,
    decisions,
    event_store,
    principal,
    resendable,
    run,
    settings,
    show_receipt,
    show_receipts,
)
from domain import commands as cmd
from domain.errors import InvalidInput
from domain.roster import CHAIR, Roster
from domain.values import DeadlineTarget, ReviewOutcome

app = typer.Typer()


@app.command()
def propose(
    title: Annotated[str, typer.Option(help="The proposal's title.")],
    area: Annotated[
        str,
        typer.Option(help="Area of cooperation: one of the council's (concord council show)."),
    ],
    actor: ActorOption,
    text: TextOption = None,
    text_file: TextFileOption = None,
    area_label: Annotated[str | None, typer.Option(help="Label when the area is 'other'.")] = None,
    level: Annotated[
        str | None,
        typer.Option(
            help="The level the council decides at, e.g. ambassadors (default: the council's "
            "first deciding body)."
        ),
    ] = None,
    body: Annotated[
        str | None, typer.Option(help="The deciding body, e.g. WG-TERRORISM (or --level).")
    ] = None,
    roster_on: Annotated[
        str | None,
        typer.Option(help="YYYY-MM-DD: the roster of that day binds the decision."),
    ] = None,
    decision_id: Annotated[
        str | None, typer.Option("--id", help="Decision id (default: from the title).")
    ] = None,
    max_failed_rounds: Annotated[int, typer.Option(help="Failed rounds before it lapses.")] = 3,
    review_period: Annotated[str, typer.Option(help="Default review period.")] = "14d",
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Submit a proposal: starts a decision's workflow.

    Example: concord propose --as POL --title "Action Plan on Terrorism"
    --area struggle_against_terrorism --text-file plan.txt
    """

    async def work() -> None:
        current = settings()
        command = build(
            cmd.SubmitProposal,
            decision_id=decision_id or new_decision_id(title, key),
            actor=actor,
            recorded_by=principal(current),
            title=title,
            text=text_of(text, text_file),
            area=area,
            area_label=area_label,
            level=level,
            body=body,
            roster_on=roster_on,
            max_failed_rounds=max_failed_rounds,
            review_period_seconds=duration_seconds(review_period, "review-period"),
        )
        with resendable(key, "--id", command.decision_id) as given_key:
            async with commands(current, key_given=key is not None) as given:
                show_receipt(await given.propose(command, given_key, "cli"), as_json)

    run(work())


@app.command()
def refer(
    decision_id: Id,
    review_deadline: Annotated[
        str | None, typer.Option(help="Deadline: a duration (14d) or an instant.")
    ] = None,
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Refer a proposal to the Preparatory Committee.

    Example: concord refer d-1 --review-deadline 14d
    """
    deadline = parse_deadline(review_deadline, "review-deadline") if review_deadline else None
    run(
        send(
            cmd.ReferToPreparatoryCommittee,
            decision_id,
            actor,
            key,
            as_json,
            review_deadline=deadline,
        )
    )


@app.command()
def amend(
    decision_id: Id,
    text: TextOption = None,
    text_file: TextFileOption = None,
    note: Annotated[str, typer.Option(help="Why it was amended.")] = "",
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Amend the text: a new revision.

    Example: concord amend d-1 --text-file v2.txt
    """
    run(
        send(
            cmd.AmendProposal,
            decision_id,
            actor,
            key,
            as_json,
            text=text_of(text, text_file),
            note=note,
        )
    )


@app.command()
def review(
    decision_id: Id,
    outcome: Annotated[
        ReviewOutcome, typer.Option(help="forward, amend (with a text) or return (with reasons).")
    ],
    text: TextOption = None,
    text_file: TextFileOption = None,
    reasons: Annotated[str, typer.Option(help="Why it is returned.")] = "",
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Complete the Preparatory Committee's review.

    Example: concord review d-1 --outcome forward
    """
    run(
        send(
            cmd.CompleteReview,
            decision_id,
            actor,
            key,
            as_json,
            outcome=outcome,
            text=text_of(text, text_file, required=False),
            reasons=reasons,
        )
    )


@app.command("open-round")
def open_round(
    decision_id: Id,
    deadline: Annotated[
        str, typer.Option(help="Silence deadline: a duration (72h) or an instant.")
    ],
    remind_before: Annotated[
        str | None, typer.Option(help="Remind silent members this long before the deadline (24h).")
    ] = None,
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open a consensus round under silence procedure.

    Example: concord open-round d-1 --deadline 72h
    """
    before = duration_seconds(remind_before, "remind-before")
    run(
        send(
            cmd.OpenRound,
            decision_id,
            actor,
            key,
            as_json,
            deadline=parse_deadline(deadline, "deadline"),
            reminder_before_seconds=before,
        )
    )


@app.command()
def extend(
    decision_id: Id,
    target: Annotated[DeadlineTarget, typer.Option(help="round, review or report_back.")],
    deadline: Annotated[str, typer.Option(help="New deadline: a duration or an instant.")],
    reason: Annotated[str, typer.Option(help="Why it is extended.")],
    round_number: Annotated[
        int | None,
        typer.Option(
            "--round",
            help="With --target round: the round whose deadline is extended (default: the open "
            "round).",
        ),
    ] = None,
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Extend a deadline.

    Example: concord extend d-1 --target round --round 1 --deadline 96h --reason "Capitals"
    """

    async def work() -> None:
        number = round_number
        if target is DeadlineTarget.ROUND and number is None:
            async with decisions() as client:
                number = await open_round_of(client, decision_id)
        await send(
            cmd.ExtendDeadline,
            decision_id,
            actor,
            key,
            as_json,
            target=target,
            round=number,
            new_deadline=parse_deadline(deadline, "deadline"),
            reason=reason,
        )

    run(work())


@app.command("close-round")
def close_round(
    decision_id: Id,
    round_number: Annotated[int, typer.Option("--round")],
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Close a round that an objection blocks.

    Example: concord close-round d-1 --round 1
    """
    run(send(cmd.CloseRound, decision_id, actor, key, as_json, round=round_number))


def _action_item(spec: str, roster: Roster) -> dict[str, Any]:
    parts = spec.split(":", 2)
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise InvalidInput(
            "item",
            f"{spec!r} is not ID:ASSIGNEE:DESCRIPTION "
            "(assignee: a member code, `all`, or a body code)",
        )
    item_id, assignee, description = (p.strip() for p in parts)
    if assignee == "all":
        who: dict[str, Any] = {"kind": "all_members"}
    elif roster.is_body(assignee):
        who = {"kind": "body", "code": assignee}
    else:
        who = {"kind": "member", "code": assignee}
    return {"item_id": item_id, "description": description, "assignee": who}


@app.command()
def plan(
    decision_id: Id,
    items: Annotated[
        list[str], typer.Option("--item", help="ID:ASSIGNEE:DESCRIPTION; repeat for each item.")
    ],
    report_back: Annotated[str, typer.Option(help="Report-back deadline (180d or instant).")],
    monitoring_body: Annotated[str, typer.Option(help="Who monitors.")] = "PC",
    remind_before: Annotated[str | None, typer.Option(help="Reminder lead (7d).")] = None,
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Plan the implementation.

    Example: concord plan d-1 --item "A1:all:Joint assessment" --report-back 180d
    """
    before = duration_seconds(remind_before, "remind-before")

    async def work() -> None:
        async with event_store() as store:
            from store.councils import Councils

            roster = (await Councils(store).roster_book()).latest
        await send(
            cmd.PlanImplementation,
            decision_id,
            actor,
            key,
            as_json,
            action_items=[_action_item(spec, roster) for spec in items],
            monitoring_body=monitoring_body,
            report_back_deadline=parse_deadline(report_back, "report-back"),
            reminder_before_seconds=before,
        )

    run(work())


@app.command("resolve-issue")
def resolve_issue(
    decision_id: Id,
    issue: Annotated[int, typer.Option(help="Issue number.")],
    deadline: Annotated[str, typer.Option(help="Silence deadline (72h).")],
    text: TextOption = None,
    text_file: TextFileOption = None,
    remind_before: Annotated[str | None, typer.Option()] = None,
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Put a resolution under silence procedure.

    Example: concord resolve-issue d-1 --issue 1 --text "Deliver by March" --deadline 72h
    """
    before = duration_seconds(remind_before, "remind-before")
    run(
        send(
            cmd.ProposeIssueResolution,
            decision_id,
            actor,
            key,
            as_json,
            issue=issue,
            text=text_of(text, text_file),
            deadline=parse_deadline(deadline, "deadline"),
            reminder_before_seconds=before,
        )
    )


@app.command()
def complete(
    decision_id: Id,
    summary: Annotated[str, typer.Option()] = "",
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record the decision as completed.

    Example: concord complete d-1
    """
    run(send(cmd.CompleteDecision, decision_id, actor, key, as_json, summary=summary))


@app.command()
def supersede(
    decision_id: Id,
    by: Annotated[str, typer.Option(help="The later decision's id.")],
    reason: Annotated[str, typer.Option()] = "",
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record that a later, adopted decision supersedes this one (in implementation or
    completed); both decisions record the link.

    Example: concord supersede d-2004 --by d-2011 --reason "Updated Action Plan"
    """

    async def supersede() -> None:
        current = settings()
        command = build(
            cmd.SupersedeDecision,
            decision_id=decision_id,
            actor=actor,
            recorded_by=principal(current),
            superseded_by=by,
            reason=reason,
        )
        with resendable(key) as given_key:
            async with commands(current, key_given=key is not None) as given:
                result = await given.supersede(command, given_key, "cli")
        show_receipts({"superseded": result.superseded, "successor": result.successor}, as_json)

    run(supersede())


@app.command()
def suspend(
    decision_id: Id,
    reason: Annotated[str, typer.Option()],
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Suspend a decision: its deadlines pause.

    Example: concord suspend d-1 --reason "Capitals need time"
    """
    run(send(cmd.SuspendDecision, decision_id, actor, key, as_json, reason=reason))


@app.command()
def resume(
    decision_id: Id,
    reason: Annotated[str, typer.Option()] = "",
    actor: ChairOption = CHAIR,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Resume a suspended decision.

    Example: concord resume d-1
    """
    run(send(cmd.ResumeDecision, decision_id, actor, key, as_json, reason=reason))
