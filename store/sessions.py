"""Portal sessions, kept on the server: the browser's cookie holds a random session id only,
and the database holds its SHA-256, the access token it was opened with (by id, never the token),
its CSRF token and its times. Signing out deletes the row; revoking the token deletes all of its
rows; a session idle too long, or older than its lifetime, is refused and deleted."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import delete, select, update

from domain.errors import Unauthenticated
from store.backends import LogBackend
from store.hashing import format_instant, parse_instant
from store.schema import portal_sessions

LIFETIME: Final = timedelta(hours=8)
"""A session ends this long after it was opened, however busy."""
IDLE: Final = timedelta(minutes=30)
"""A session not used for this long ends."""
TOUCH_EVERY: Final = timedelta(minutes=1)
"""How stale `last_seen_at` may be before a request writes it again (not one write a request)."""


@dataclass(frozen=True)
class PortalSession:
    """A session as the portal uses it: whose token, the CSRF token its forms carry."""

    token_id: str
    csrf: str
    opened_at: datetime
    expires_at: datetime


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class PortalSessions:
    """The portal's sessions in the store (the `portal_sessions` table)."""

    def __init__(
        self, backend: LogBackend, lifetime: timedelta = LIFETIME, idle: timedelta = IDLE
    ) -> None:
        self._backend = backend
        self.lifetime = lifetime
        self.idle = idle

    async def open(self, token_id: str, now: datetime | None = None) -> tuple[str, PortalSession]:
        """A new session for the token `token_id`: the id for the cookie (shown once), and it."""
        now = now or datetime.now(UTC)
        session_id = secrets.token_urlsafe(32)
        session = PortalSession(token_id, secrets.token_urlsafe(24), now, now + self.lifetime)
        async with self._backend.writing() as connection:
            await connection.execute(
                portal_sessions.insert().values(
                    id_hash=_digest(session_id),
                    token_id=token_id,
                    csrf=session.csrf,
                    opened_at=format_instant(now),
                    last_seen_at=format_instant(now),
                    expires_at=format_instant(session.expires_at),
                )
            )
        return session_id, session

    async def read(self, session_id: str | None, now: datetime | None = None) -> PortalSession:
        """The session `session_id` names; Unauthenticated when there is none (never opened,
        signed out, its token revoked), or it has expired or stayed idle too long (and then it
        is deleted)."""
        if not session_id or len(session_id) > 100:
            raise Unauthenticated("sign in with your access token")
        now = now or datetime.now(UTC)
        digest = _digest(session_id)
        rows = await self._backend.rows(
            select(portal_sessions).where(portal_sessions.c.id_hash == digest)
        )
        if not rows:
            raise Unauthenticated("this session has ended: sign in again")
        row = rows[0]
        session = PortalSession(
            row.token_id, row.csrf, parse_instant(row.opened_at), parse_instant(row.expires_at)
        )
        last_seen = parse_instant(row.last_seen_at)
        if now >= session.expires_at or now - last_seen >= self.idle:
            await self.close(session_id)
            raise Unauthenticated("your session has expired: sign in again")
        if now - last_seen >= TOUCH_EVERY:
            async with self._backend.writing() as connection:
                await connection.execute(
                    update(portal_sessions)
                    .where(portal_sessions.c.id_hash == digest)
                    .values(last_seen_at=format_instant(now))
                )
        return session

    async def close(self, session_id: str) -> None:
        """End the session (signing out); ending one that has ended changes nothing."""
        async with self._backend.writing() as connection:
            await connection.execute(
                delete(portal_sessions).where(portal_sessions.c.id_hash == _digest(session_id))
            )

    async def forget_ended(self, now: datetime | None = None) -> int:
        """Delete the sessions that have expired or stayed idle too long; how many."""
        now = now or datetime.now(UTC)
        async with self._backend.writing() as connection:
            result = await connection.execute(
                delete(portal_sessions).where(
                    (portal_sessions.c.expires_at <= format_instant(now))
                    | (portal_sessions.c.last_seen_at <= format_instant(now - self.idle))
                )
            )
        return int(result.rowcount or 0)
