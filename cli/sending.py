"""How a command given on the command line is built, sent to its decision, and acknowledged."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar, cast

import typer
from pydantic import TypeAdapter, ValidationError

from cli.parsing import build, read_text_file
from cli.session import commands, principal, resendable, settings, show_receipt
from domain import commands as cmd
from domain.declarations import BY_KIND
from domain.errors import InvalidInput, NotFound
from domain.state import ConsensusRound, DecisionState
from domain.statements import answer_key
from domain.values import CleanText

if TYPE_CHECKING:
    from runtime.commands import Commands
    from runtime.decisions import DecisionClient

AnyCommand = TypeVar("AnyCommand", bound=cmd.Command)

NO_TEXT_HASH = "sha256:" + "0" * 64
"""The hash sent for a round that does not exist: the decision refuses the command before any
text is compared."""

ChairOption = Annotated[
    str, typer.Option("--as", help="On whose behalf (default: the chair).", metavar="CODE")
]
RoundOption = Annotated[
    int | None,
    typer.Option("--round", help="Round number (default: the open round awaiting this member)."),
]
_TEXT: Final[TypeAdapter[str]] = TypeAdapter(CleanText)
TextOption = Annotated[str | None, typer.Option("--text", help="The text itself.")]
TextFileOption = Annotated[
    Path | None, typer.Option("--text-file", help="Read the text from a UTF-8 file.")
]


def text_of(text: str | None, text_file: Path | None, required: bool = True) -> str | None:
    """The text given with --text, or read with --text-file; a file whose content no command
    takes as a text is refused naming --text-file."""
    if text is not None and text_file is not None:
        raise InvalidInput("text", "give --text or --text-file, not both")
    if text_file is not None:
        content = read_text_file(text_file, "--text-file")
        try:
            _TEXT.validate_python(content)
        except ValidationError as error:
            reason = error.errors()[0]["msg"]
            raise InvalidInput("--text-file", f"{str(text_file)!r}: {reason}") from None
        return content
    if text is None and required:
        raise InvalidInput("text", "required: give --text or --text-file")
    return text


@dataclass(frozen=True)
class Signing:
    """How a command given on the command line is signed: by the member's key file, or not."""

    key_file: Path | None = None

    def signed(self, command: AnyCommand, origin: str, command_key: str) -> AnyCommand:
        """`command` signed by the key, for the log `origin` under `command_key`; as it is
        when there is no key to sign with."""
        if self.key_file is None:
            return command
        if not isinstance(command, cmd.MemberAnswer):
            raise InvalidInput("sign_key", f"a {command.kind} is not an answer a key signs")
        from audit.signing import MemberKey

        key = MemberKey.load(self.key_file)
        return cast(AnyCommand, key.sign_answer(command, origin, command_key))


async def send(
    model: type[AnyCommand],
    decision_id: str,
    actor: str,
    key: str | None,
    as_json: bool,
    via: Commands | None = None,
    signing: Signing = Signing(),
    **fields: Any,
) -> None:
    current = settings()
    command = build(
        model, decision_id=decision_id, actor=actor, recorded_by=principal(current), **fields
    )
    with resendable(key) as given_key:
        command = signing.signed(command, current.log_origin, given_key)
        if isinstance(command, cmd.MemberAnswer) and command.signature is not None:
            given_key = answer_key(actor, given_key)
        if via is not None:
            receipt = await via.execute(command, given_key, "cli")
        else:
            async with commands(current, key_given=key is not None) as connected:
                receipt = await connected.execute(command, given_key, "cli")
    show_receipt(receipt, as_json)


async def answering_round(
    client: DecisionClient, decision_id: str, member: str, number: int | None
) -> tuple[int, str]:
    """The round a member answers (named, or the one open round awaiting it) and its text hash.

    With nothing open for the member the command still goes to the decision, on its latest
    round, and the rules say why it cannot be answered (no round, a closed one, not on its
    roster): the CLI asks, the domain decides.
    """
    state = await _state_of(client, decision_id)
    if number is None:
        number = _one_round(state, state.pending_for(member) or state.open_rounds, f" for {member}")
    named = next((r for r in state.rounds if r.number == number), None)
    return number, named.text_hash if named else NO_TEXT_HASH


async def open_round_of(client: DecisionClient, decision_id: str) -> int:
    """The decision's one open round (a round's command given without --round); with none
    open, its latest round, whose closing the rules then name; with several, ask for one."""
    state = await _state_of(client, decision_id)
    return _one_round(state, state.open_rounds, "")


async def _state_of(client: DecisionClient, decision_id: str) -> DecisionState:
    status = await client.status(decision_id)
    if status.state is None:
        raise NotFound(f"no decision {decision_id}")
    return status.state


def _one_round(state: DecisionState, candidates: tuple[ConsensusRound, ...], whose: str) -> int:
    """The only candidate round; with none, the latest round (or 1), so that the rules say why
    it cannot be acted on; with several, InvalidInput asking for --round."""
    if len(candidates) > 1:
        listed = ", ".join(str(r.number) for r in candidates)
        raise InvalidInput(
            "round",
            f"decision {state.decision_id} has {len(candidates)} open rounds{whose} "
            f"({listed}); name one with --round",
        )
    if candidates:
        return candidates[0].number
    return state.rounds[-1].number if state.rounds else 1


async def answer(
    model: type[AnyCommand],
    decision_id: str,
    actor: str,
    round_number: int | None,
    text_hash: str | None,
    key: str | None,
    as_json: bool,
    signing: Signing = Signing(),
    **fields: Any,
) -> None:
    async with commands(key_given=key is not None) as given:
        number, current_hash = await answering_round(
            given.decisions, decision_id, actor, round_number
        )
        if BY_KIND[model.model_fields["kind"].default].bound_to_text:
            fields["text_hash"] = text_hash or current_hash
        await send(model, decision_id, actor, key, as_json, given, signing, round=number, **fields)
