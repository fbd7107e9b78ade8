"""Who may call Concord's API: access tokens issued, checked and revoked, each issue and
revocation recorded in the hash-chained access log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from domain.errors import InvalidInput, NotFound
from store.councils import Councils
from store.eventstore import EventStore
from store.tokens import TokenRecord


class Role(StrEnum):
    MEMBER = "member"
    """A delegation: acts only in its own name."""
    OPERATOR = "operator"
    """The secretariat: gives the chair's commands and records on a member's behalf."""
    AUDITOR = "auditor"
    """Reads and verifies; changes nothing."""


@dataclass(frozen=True)
class Caller:
    """The principal an access token stands for."""

    role: Role
    name: str
    token_id: str

    @property
    def principal(self) -> str:
        return f"{self.role.value}:{self.name}"


@dataclass(frozen=True)
class Issued:
    record: TokenRecord
    token: str
    """The token itself: shown once, never stored."""


class Tokens:
    """The access tokens of one installation, kept in its event store's database."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def caller(self, token: str) -> Caller:
        """The caller `token` stands for; Unauthenticated when it is unknown, revoked or
        expired."""
        return _caller(await self._store.tokens.presented(token))

    async def caller_by_id(self, token_id: str) -> Caller:
        """The caller of the token `token_id`; Unauthenticated once it is revoked or expired."""
        return _caller(await self._store.tokens.usable(token_id))

    async def issue(
        self, role: Role, name: str, by: str, expires_in: timedelta | None = None
    ) -> Issued:
        rosters = (await Councils(self._store).roster_book()).rosters
        if role is Role.MEMBER and not any(r.is_member(name) for r in rosters):
            raise NotFound(f"no member {name!r} on any roster of the council")
        if expires_in is not None and expires_in <= timedelta(0):
            raise InvalidInput("expires", "must be a positive duration")
        expires_at = datetime.now(UTC) + expires_in if expires_in else None
        record, token = await self._store.tokens.issue(role.value, name, by, expires_at)
        return Issued(record=record, token=token)

    async def revoke(self, token_id: str, by: str) -> TokenRecord:
        return await self._store.tokens.revoke(token_id, by)

    async def list(self) -> list[TokenRecord]:
        return await self._store.tokens.all()


def _caller(record: TokenRecord) -> Caller:
    return Caller(role=Role(record.role), name=record.name, token_id=record.token_id)
