"""Portal sessions, as the browser sees them: a cookie holding a random session id (the session
itself lives in the store: store.sessions), and the sign-in form's own CSRF check.

The sign-in page sets a short-lived cookie holding a random value and puts its HMAC-SHA256 under
the installation's portal key (`CONCORD_PORTAL_KEY_FILE`, default `<data dir>/portal.key`,
shared by every API replica) into the form; a sign-in whose form does not carry the HMAC of the
cookie it came with is refused, so no other site can sign a browser in under its own token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from domain.errors import Forbidden
from store.key_files import key_from_file
from store.sessions import PortalSession, PortalSessions

COOKIE: Final = "concord_session"
SIGN_IN_COOKIE: Final = "concord_sign_in"
SIGN_IN_LIFETIME: Final = timedelta(hours=1)
MIN_KEY_BYTES: Final = 32

__all__ = ["COOKIE", "SIGN_IN_COOKIE", "PortalSession", "Sessions", "portal_key"]


class Sessions:
    """The portal's sessions (kept in the store) and the sign-in form's CSRF check, under the
    installation's portal key."""

    def __init__(self, kept: PortalSessions, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"a portal key has at least {MIN_KEY_BYTES} bytes")
        self._kept = kept
        self._key = key

    @property
    def lifetime(self) -> timedelta:
        return self._kept.lifetime

    async def open(self, token_id: str, now: datetime | None = None) -> tuple[str, PortalSession]:
        """A new session for the token `token_id`: the cookie's value, and the session."""
        return await self._kept.open(token_id, now)

    async def read(self, cookie: str | None, now: datetime | None = None) -> PortalSession:
        """The session the cookie names; Unauthenticated when it has ended or never was."""
        return await self._kept.read(cookie, now)

    async def close(self, cookie: str) -> None:
        await self._kept.close(cookie)

    def sign_in_challenge(self) -> tuple[str, str]:
        """(the sign-in cookie's value, the CSRF token its form carries)."""
        nonce = secrets.token_urlsafe(24)
        return nonce, self._mac(nonce)

    def check_sign_in(self, cookie: str | None, csrf: str) -> None:
        """Forbidden unless `csrf` is the form token of the sign-in cookie that came with it."""
        if not cookie or not hmac.compare_digest(self._mac(cookie), csrf):
            raise Forbidden("this sign-in did not come from the sign-in page: open it again")

    def _mac(self, nonce: str) -> str:
        return hmac.new(self._key, b"sign-in:" + nonce.encode(), hashlib.sha256).hexdigest()


def portal_key(path: Path) -> bytes:
    """The installation's portal key, made (mode 0600) the first time it is asked for;
    InvalidInput naming CONCORD_PORTAL_KEY_FILE when it cannot be made or read."""
    return key_from_file(path, "CONCORD_PORTAL_KEY_FILE", "portal key", "all API replicas")
