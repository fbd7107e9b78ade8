"""Commands given through an adapter (the API, the CLI): sent to their decisions, and every
refusal kept as evidence in the refusals log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from pydantic import ValidationError

from domain.commands import Command, MemberAnswer, SubmitProposal, SupersedeDecision
from domain.errors import ConcordError, Forbidden, InvalidInput, Refusal, Unavailable
from runtime.decisions import DecisionClient
from store.side_records import RefusalRecord
from workflows.messages import Receipt, SupersessionResult


def _log() -> Any:
    """The module's logger, imported when something is logged: a command given on the command
    line (a process of its own) does without structlog's import, a tenth of its start-up."""
    import structlog

    return structlog.get_logger(__name__)


Channel = Literal["api", "cli"]


RecordRefusal = Callable[[RefusalRecord], Awaitable[object]]
"""Keeps a refusal in the refusals log (the event store's `record_refusal`)."""

KeyHolder = Callable[[str], Awaitable[str | None]]
"""The decision on which a command given with this idempotency key is stored, None when none is
(the event store's `decision_of_key`)."""


AnswerCheck = Callable[[MemberAnswer], Awaitable[None]]
"""Refuses a signed answer whose signature is not its member's (audit.keys.KeyBook)."""


class Commands:
    """Gives commands to decisions; a refusal is recorded, then raised to the caller."""

    def __init__(
        self,
        decisions: DecisionClient,
        record: RecordRefusal | None = None,
        keys: KeyHolder | None = None,
        answers: AnswerCheck | None = None,
    ) -> None:
        self.decisions = decisions
        self._record = record
        self._keys = keys
        self._answers = answers

    async def propose(self, command: SubmitProposal, key: str | None, channel: Channel) -> Receipt:
        await self.key_free(key, command.decision_id)
        async with self.recording(command, channel):
            return await self.decisions.propose(command, key)

    async def execute(self, command: Command, key: str | None, channel: Channel) -> Receipt:
        await self.key_free(key, command.decision_id)
        async with self.recording(command, channel):
            if isinstance(command, MemberAnswer) and self._answers is not None:
                await self._answers(command)
            return await self.decisions.execute(command, key)

    async def supersede(
        self, command: SupersedeDecision, key: str | None, channel: Channel
    ) -> SupersessionResult:
        await self.key_free(key, command.decision_id)
        async with self.recording(command, channel):
            return await self.decisions.supersede(command, key)

    async def key_free(self, key: str | None, decision_id: str) -> None:
        """Refuse a key that names a command stored on another decision: a caller's key names
        one command, across decisions (on its own decision, the decision's workflow answers a
        key given again). A command is answered only once its events are stored, so a key used
        after its command was answered is always found; when the store cannot be read, the
        command goes on to its decision, which still holds its own keys."""
        if key is None or self._keys is None:
            return
        try:
            holder = await self._keys(key)
        except Unavailable as unreadable:
            _log().warning(
                "idempotency key not checked", decision_id=decision_id, error=str(unreadable)
            )
            return
        if holder is not None and holder != decision_id:
            raise InvalidInput(
                "idempotency_key",
                f"the key names a command on decision {holder}; a key names one command, "
                "so give this one a new key",
            )

    @asynccontextmanager
    async def recording(self, command: Command, channel: Channel) -> AsyncIterator[None]:
        """Record a Refusal or Forbidden raised inside, then let it go on to the caller."""
        try:
            yield
        except (Refusal, Forbidden) as refused:
            await self.refused(
                refused,
                principal=command.recorded_by,
                decision_id=command.decision_id,
                kind=command.kind,
                fields=command.model_dump(mode="json"),
                channel=channel,
            )
            raise

    async def refused(
        self,
        error: ConcordError,
        *,
        principal: str,
        decision_id: str,
        kind: str,
        fields: dict[str, Any],
        channel: Channel,
    ) -> None:
        """Keep a refusal as evidence; a log that cannot be written is reported, never turns
        the refusal into another error."""
        if self._record is None:
            return
        try:
            refusal = RefusalRecord(
                principal=principal,
                decision_id=decision_id,
                kind=kind,
                command=fields,
                code=error.code,
                message=error.message,
                channel=channel,
            )
            await self._record(refusal)
        except ConcordError as failed:
            _log().error("refusal not recorded", decision_id=decision_id, error=failed.line())
        except ValidationError as unrecordable:  # a command the side log cannot hold as given
            _log().error(
                "refusal not recorded",
                decision_id=decision_id,
                error=str(unrecordable.errors()[0].get("msg", "invalid")),
            )
