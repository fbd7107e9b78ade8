"""What the API answers for an accepted command: the API's own types, so that the worker's
messages (workflows.messages), which Temporal carries between processes, can change without
changing what clients read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from workflows import messages


class Receipt(BaseModel):
    """Proof that a command was accepted: the events it produced, as stored in the log."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision_id: str = Field(description="The decision whose stream holds the events.")
    idempotency_key: str = Field(
        description="The key the command was given under (the caller's, scoped to the caller; "
        "one made up when none was sent): the same command sent again with it is this receipt."
    )
    event_ids: tuple[str, ...] = Field(description="The events' ids, in stream order.")
    event_types: tuple[str, ...] = Field(description="The events' types, in stream order.")
    stream_version: int = Field(description="The decision's stream version after the events.")
    hashes: tuple[str, ...] = Field(description="Each event's hash in the log's chain.")
    command_digest: str = Field(
        description="SHA-256 of the command the key was given for (empty in receipts from "
        "before it was kept): the same key with another command is refused."
    )

    @classmethod
    def of(cls, given: messages.Receipt) -> Receipt:
        return cls(
            decision_id=given.decision_id,
            idempotency_key=given.idempotency_key,
            event_ids=given.event_ids,
            event_types=given.event_types,
            stream_version=given.stream_version,
            hashes=given.hashes,
            command_digest=given.command_digest,
        )


class SupersessionResult(BaseModel):
    """Both sides of a supersession, as stored: the superseded decision's and the successor's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    superseded: Receipt
    successor: Receipt

    @classmethod
    def of(cls, given: messages.SupersessionResult) -> SupersessionResult:
        return cls(superseded=Receipt.of(given.superseded), successor=Receipt.of(given.successor))
