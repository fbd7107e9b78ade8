"""Access tokens: only a token's SHA-256 is stored; the token itself is shown once, at issue.

A token reads `concord_<id>_<secret>`: the public id finds its row, the secret (256 random bits,
base64url) is checked against the stored hash in constant time. Issuing and revoking are also
recorded in the hash-chained access log (`store.side_logs`), by whom and when.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import InvalidInput, NotFound, Unauthenticated
from store import side_logs
from store.backends import LogBackend
from store.hashing import format_instant, parse_instant
from store.schema import access_tokens, portal_sessions
from store.side_records import AccessRecord

Role = Literal["member", "operator", "auditor"]
PREFIX: Final = "concord_"
_TOKEN: Final = re.compile(r"^concord_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
NAME: Final = re.compile(r"^[A-Za-z0-9._@+-]{1,64}$")


class TokenRecord(BaseModel):
    """A token as stored and listed: never its secret."""

    model_config = ConfigDict(frozen=True)

    token_id: str
    role: Role
    name: str
    issued_at: datetime
    issued_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None

    @property
    def principal(self) -> str:
        return f"{self.role}:{self.name}"

    def usable_at(self, instant: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or instant < self.expires_at)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> tuple[str, str, str]:
    """(token id, the token to hand over, the hash to store)."""
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)  # 256 bits
    return token_id, f"{PREFIX}{token_id}_{secret}", _digest(secret)


async def insert_token(
    connection: AsyncConnection,
    token_id: str,
    digest: str,
    role: Role,
    name: str,
    issued_by: str,
    expires_at: datetime | None,
) -> TokenRecord:
    if not NAME.match(name):
        raise InvalidInput("name", "1 to 64 letters, digits or ._@+- characters")
    now = datetime.now(UTC)
    row = {
        "token_id": token_id,
        "secret_hash": digest,
        "role": role,
        "name": name,
        "issued_at": format_instant(now),
        "issued_by": issued_by,
        "expires_at": format_instant(expires_at) if expires_at else None,
    }
    await connection.execute(access_tokens.insert().values(**row))
    return _record({**row, "revoked_at": None, "revoked_by": None})


_COLUMNS: Final = tuple(column.name for column in access_tokens.columns)
_TOKEN_ROW: Final = f"SELECT {', '.join(_COLUMNS)} FROM access_tokens WHERE token_id = {{0}}"
"""A token's row, read on the driver (LogBackend.lookup): every request reads it."""


async def token_row(backend: LogBackend, token_id: str) -> dict[str, object] | None:
    row = await backend.lookup(_TOKEN_ROW, token_id)
    return None if row is None else dict(zip(_COLUMNS, row, strict=True))


def token_for(row: dict[str, object] | None, secret: str) -> TokenRecord:
    """The usable token record a presented token's `row` and `secret` stand for; Unauthenticated
    otherwise (the same answer for unknown, wrong, revoked or expired, said apart only in the
    message)."""
    if row is None or not hmac.compare_digest(str(row["secret_hash"]), _digest(secret)):
        raise Unauthenticated("the access token is not one Concord issued")
    return _usable(_record(row))


def _usable(record: TokenRecord) -> TokenRecord:
    if record.revoked_at is not None:
        raise Unauthenticated(f"the access token {record.token_id} was revoked")
    if not record.usable_at(datetime.now(UTC)):
        raise Unauthenticated(f"the access token {record.token_id} has expired")
    return record


async def token_by_id(connection: AsyncConnection, token_id: str) -> TokenRecord:
    row = (
        await connection.execute(select(access_tokens).where(access_tokens.c.token_id == token_id))
    ).first()
    if row is None:
        raise NotFound(f"no token {token_id}")
    return _record(dict(row._mapping))


async def revoke(connection: AsyncConnection, token_id: str, by: str) -> TokenRecord:
    record = await token_by_id(connection, token_id)
    if record.revoked_at is not None:
        return record
    now = format_instant(datetime.now(UTC))
    await connection.execute(
        update(access_tokens)
        .where(access_tokens.c.token_id == token_id)
        .values(revoked_at=now, revoked_by=by)
    )
    return record.model_copy(update={"revoked_at": parse_instant(now), "revoked_by": by})


async def all_tokens(connection: AsyncConnection) -> list[TokenRecord]:
    rows = await connection.execute(select(access_tokens).order_by(access_tokens.c.issued_at))
    return [_record(dict(row._mapping)) for row in rows]


def _record(row: dict[str, object]) -> TokenRecord:
    def instant(value: object) -> datetime | None:
        return parse_instant(str(value)) if value else None

    return TokenRecord(
        token_id=str(row["token_id"]),
        role=row["role"],  # type: ignore[arg-type]
        name=str(row["name"]),
        issued_at=parse_instant(str(row["issued_at"])),
        issued_by=str(row["issued_by"]),
        expires_at=instant(row["expires_at"]),
        revoked_at=instant(row["revoked_at"]),
        revoked_by=str(row["revoked_by"]) if row["revoked_by"] else None,
    )


class Tokens:
    """The access tokens in the store (`access_tokens`); each issue and revocation is written
    to the access log (store.side_logs) in the same transaction."""

    def __init__(self, backend: LogBackend) -> None:
        self._backend = backend

    async def issue(
        self, role: Role, name: str, by: str, expires_at: datetime | None
    ) -> tuple[TokenRecord, str]:
        """A new access token for `role:name` and the token itself (shown once)."""
        token_id, token, digest = new_token()
        async with self._backend.writing() as connection:
            record = await insert_token(connection, token_id, digest, role, name, by, expires_at)
            await _logged(connection, "token_issued", record, by)
        return record, token

    async def presented(self, token: str) -> TokenRecord:
        """The usable token a presented token stands for; Unauthenticated otherwise."""
        match = _TOKEN.match(token)
        if match is None:
            raise Unauthenticated("the access token is not one Concord issued")
        token_id, secret = match.groups()
        return token_for(await token_row(self._backend, token_id), secret)

    async def usable(self, token_id: str) -> TokenRecord:
        """The token `token_id` if it may still be used; Unauthenticated once it is revoked or
        has expired (a portal session's token is checked so at every request)."""
        row = await token_row(self._backend, token_id)
        if row is None:
            raise Unauthenticated(f"the access token {token_id} is unknown")
        return _usable(_record(row))

    async def revoke(self, token_id: str, by: str) -> TokenRecord:
        """Revoke a token (recorded in the access log) and end every portal session opened
        with it; revoking it again changes nothing."""
        async with self._backend.writing() as connection:
            before = await token_by_id(connection, token_id)
            record = await revoke(connection, token_id, by)
            await connection.execute(
                delete(portal_sessions).where(portal_sessions.c.token_id == token_id)
            )
            if before.revoked_at is None:
                await _logged(connection, "token_revoked", record, by)
        return record

    async def all(self) -> list[TokenRecord]:
        """Every token issued, revoked or not, oldest first (never the tokens themselves)."""
        async with self._backend.reading() as connection:
            return await all_tokens(connection)


async def _logged(
    connection: AsyncConnection,
    kind: Literal["token_issued", "token_revoked"],
    record: TokenRecord,
    by: str,
) -> None:
    """Write what happened to the token to the access log, in the connection's transaction."""
    await side_logs.append(
        connection,
        side_logs.ACCESS_EVENTS,
        AccessRecord(
            kind=kind,
            token_id=record.token_id,
            principal=record.principal,
            by=by,
            expires_at=record.expires_at,
        ),
    )
