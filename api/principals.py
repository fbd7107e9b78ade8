"""Who calls the API: a principal from an access token, and what its role lets it do."""

from __future__ import annotations

from typing import Protocol

from domain.errors import Forbidden
from domain.roster import CHAIR
from runtime.access import Caller, Role

__all__ = ["Caller", "Role", "TokenBook", "acting", "may_audit", "may_see_pending"]


class TokenBook(Protocol):
    """Access tokens: the caller a presented token stands for (Unauthenticated when none)."""

    async def caller(self, token: str) -> Caller: ...

    async def caller_by_id(self, token_id: str) -> Caller:
        """The caller of the token `token_id` while it is usable (a portal session's)."""
        ...


def acting(caller: Caller, requested: str | None, chairs: bool, kind: str) -> tuple[str, str]:
    """(actor, recorded_by) of a command `caller` gives: a member only in its own name (never
    the chair's commands), an operator as the chair or on a member's behalf, an auditor never.
    The principal comes from the token, never from the body."""
    if caller.role is Role.AUDITOR:
        raise Forbidden(f"an auditor's token reads and verifies; it cannot give {kind}")
    if caller.role is Role.MEMBER:
        if chairs:
            raise Forbidden(f"{kind} is the chair's command: the secretariat gives it")
        if requested not in (None, caller.name):
            raise Forbidden(f"member {caller.name} acts only in its own name, not as {requested}")
        return caller.name, caller.principal
    return requested or CHAIR, caller.principal


def may_audit(caller: Caller) -> None:
    if caller.role is Role.MEMBER:
        raise Forbidden("the audit endpoints are for auditors and the secretariat")


def may_see_pending(caller: Caller, member: str) -> None:
    if caller.role is Role.MEMBER and caller.name != member:
        raise Forbidden(f"member {caller.name} sees what it owes, not what {member} owes")
