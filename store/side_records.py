"""The records of the side logs (store.side_logs), as callers build them and as the logs give
them back. No SQL here: the CLI builds a refusal's record without importing SQLAlchemy, which it
needs only when the refusal is written."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    field_validator,
)

from domain.values import Checked
from store.records import Principal, check_json_value


class SideRecord(Checked):
    """What a side log records, before the store numbers, timestamps and chains it; a field
    that does not fit is InvalidInput naming it."""


class Chained(BaseModel):
    """What the store adds to a side record: its position (1..n, gap-free), when it stored it
    (UTC, microseconds) and the chain's hashes."""

    position: int = Field(ge=1)
    recorded_at: AwareDatetime
    prev_hash: str
    hash: str


class RefusalRecord(SideRecord):
    """A command Concord refused, by a rule of the procedure or for the principal's role:
    evidence of what a principal asked, when, and why it was not done."""

    principal: Principal
    decision_id: str = Field(default="", max_length=63)
    """The decision the command was for; empty when it names none."""
    kind: str = Field(min_length=1, max_length=100)
    """The refused command's kind, e.g. "concur"."""
    command: dict[str, Any]
    code: str = Field(min_length=1, max_length=100)
    """The rule's code (e.g. "stale_text"), or "forbidden", "unauthorized"."""
    message: str
    channel: Literal["api", "cli"]

    @field_validator("command")
    @classmethod
    def _command_is_canonical_json(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_json_value(value, "command")
        return value


class StoredRefusal(RefusalRecord, Chained):
    """A refusal as its log holds it."""


class AccessRecord(SideRecord):
    """An access token issued or revoked, named by its public id (never its secret)."""

    kind: Literal["token_issued", "token_revoked"]
    token_id: str = Field(min_length=1, max_length=100)
    principal: Principal
    """Whom the token acts as, e.g. "member:RUS"."""
    by: Principal
    """Who issued or revoked it, e.g. "operator:secretariat"."""
    expires_at: AwareDatetime | None = None


class StoredAccessEvent(AccessRecord, Chained):
    """An access event as its log holds it."""
