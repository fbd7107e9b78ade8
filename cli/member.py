"""The members' commands: each delegation answers, reports and raises issues in its own name."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.sending import RoundOption, answer, send
from cli.session import ActorOption, Id, JsonOption, KeyOption, run
from domain import commands as cmd

app = typer.Typer()


@app.command()
def concur(
    decision_id: Id,
    actor: ActorOption,
    round_number: RoundOption = None,
    text_hash: Annotated[
        str | None, typer.Option(help="The text's hash (default: the round's current text).")
    ] = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Concur with the round's text.

    Example: concord concur d-1 --as USA
    """
    run(answer(cmd.Concur, decision_id, actor, round_number, text_hash, key, as_json))


@app.command("object")
def break_silence(
    decision_id: Id,
    actor: ActorOption,
    reasons: Annotated[str, typer.Option(help="Why the member objects.")],
    round_number: RoundOption = None,
    text_hash: Annotated[
        str | None, typer.Option(help="The text's hash (default: the round's current text).")
    ] = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Break silence: object, with reasons.

    Example: concord object d-1 --as RUS --reasons "Too narrow"
    """
    run(
        answer(
            cmd.BreakSilence,
            decision_id,
            actor,
            round_number,
            text_hash,
            key,
            as_json,
            reasons=reasons,
        )
    )


@app.command("withdraw-objection")
def withdraw_objection(
    decision_id: Id,
    actor: ActorOption,
    round_number: RoundOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw one's objection while the round is open.

    Example: concord withdraw-objection d-1 --as RUS
    """
    run(answer(cmd.WithdrawObjection, decision_id, actor, round_number, None, key, as_json))


@app.command()
def concern(
    decision_id: Id,
    actor: ActorOption,
    statement: Annotated[str, typer.Option(help="The concern, attached to adoption.")],
    round_number: RoundOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a non-blocking concern.

    Example: concord concern d-1 --as NOR --statement "Human rights"
    """
    run(
        answer(
            cmd.RegisterConcern,
            decision_id,
            actor,
            round_number,
            None,
            key,
            as_json,
            statement=statement,
        )
    )


@app.command()
def report(
    decision_id: Id,
    actor: ActorOption,
    summary: Annotated[str, typer.Option(help="What was done.")],
    item: Annotated[str | None, typer.Option(help="Action item id.")] = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Report progress (by the monitoring body: the report back).

    Example: concord report d-1 --as RUS --item A2 --summary "Data exchanged"
    """
    run(send(cmd.ReportProgress, decision_id, actor, key, as_json, item_id=item, summary=summary))


@app.command("complete-item")
def complete_item(
    decision_id: Id,
    actor: ActorOption,
    item: Annotated[str, typer.Option(help="Action item id.")],
    note: Annotated[str, typer.Option()] = "",
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark an action item completed.

    Example: concord complete-item d-1 --as RUS --item A2
    """
    run(send(cmd.CompleteActionItem, decision_id, actor, key, as_json, item_id=item, note=note))


@app.command("raise-issue")
def raise_issue(
    decision_id: Id,
    actor: ActorOption,
    title: Annotated[str, typer.Option(help="The issue in a line.")],
    description: Annotated[str, typer.Option()] = "",
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Raise an implementation issue.

    Example: concord raise-issue d-1 --as POL --title "Data exchange delayed"
    """
    run(
        send(cmd.RaiseIssue, decision_id, actor, key, as_json, title=title, description=description)
    )


@app.command("request-meeting")
def request_meeting(
    decision_id: Id,
    actor: ActorOption,
    reason: Annotated[str, typer.Option(help="Why the Council must meet.")],
    level: Annotated[
        str | None,
        typer.Option(
            help="The level the council is asked to meet at (default: the decision's body's level)."
        ),
    ] = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Request an extraordinary meeting.

    Example: concord request-meeting d-1 --as RUS --reason "Urgent threat"
    """
    run(send(cmd.RequestMeeting, decision_id, actor, key, as_json, level=level, reason=reason))


@app.command()
def withdraw(
    decision_id: Id,
    actor: ActorOption,
    reason: Annotated[str, typer.Option()] = "",
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Withdraw a proposal before adoption (its proposer).

    Example: concord withdraw d-1 --as POL
    """
    run(send(cmd.WithdrawDecision, decision_id, actor, key, as_json, reason=reason))
