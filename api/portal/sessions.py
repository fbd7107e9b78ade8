"""Portal sign-ins: the sign-in form's own CSRF check, and the cookie that names a session (the
session itself lives in the store: store.sessions).

The sign-in page sets a short-lived cookie holding a random value and puts its HMAC-SHA256 under
the installation's portal key (`CONCORD_PORTAL_KEY_FILE`, default `<data dir>/portal.key`,
shared by every API replica) into the form; a sign-in whose form does not carry the HMAC of the
cookie it came with is refused, so no other site can sign a browser in under its own token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Final

from api.portal.i18n import N_
from domain.errors import Forbidden
from store.key_files import KEY_BYTES, key_from_file

COOKIE: Final = "concord_session"
SIGN_IN_COOKIE: Final = "concord_sign_in"
SIGN_IN_LIFETIME: Final = timedelta(hours=1)


class SignIns:
    """The sign-in form's CSRF check, under the installation's portal key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"a portal key has at least {KEY_BYTES} bytes")
        self._key = key

    def challenge(self) -> tuple[str, str]:
        """(the sign-in cookie's value, the CSRF token its form carries)."""
        nonce = secrets.token_urlsafe(24)
        return nonce, self._mac(nonce)

    def check(self, cookie: str | None, csrf: str) -> None:
        """Forbidden unless `csrf` is the form token of the sign-in cookie that came with it."""
        if not cookie or not hmac.compare_digest(self._mac(cookie), csrf):
            raise Forbidden(N_("this sign-in did not come from the sign-in page: open it again"))

    def _mac(self, nonce: str) -> str:
        return hmac.new(self._key, b"sign-in:" + nonce.encode(), hashlib.sha256).hexdigest()


def portal_key(path: Path) -> bytes:
    """The installation's portal key, made (mode 0600) the first time it is asked for;
    InvalidInput naming CONCORD_PORTAL_KEY_FILE when it cannot be made or read."""
    return key_from_file(path, "CONCORD_PORTAL_KEY_FILE", "portal key", "all API replicas")
