"""Portal sessions: a signed, expiring cookie that holds the access token it was opened with.

Every request checks the token again, so a revoked or expired token ends its sessions at once;
the cookie also carries the session's CSRF token, which every form sends back. The signature is
HMAC-SHA256 under the installation's portal key (`<data dir>/portal.key`, mode 0600)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import orjson

from domain.errors import InvalidInput, Unauthenticated

COOKIE: Final = "concord_session"
LIFETIME: Final = timedelta(hours=8)
MIN_KEY_BYTES: Final = 32


@dataclass(frozen=True)
class Session:
    token: str
    csrf: str
    expires_at: datetime


class Sessions:
    """Opens and reads session cookies signed with one secret."""

    def __init__(self, secret: bytes, lifetime: timedelta = LIFETIME) -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise ValueError(f"a portal key has at least {MIN_KEY_BYTES} bytes")
        self._secret = secret
        self.lifetime = lifetime

    def open(self, token: str, now: datetime | None = None) -> tuple[str, Session]:
        """A new session for `token`: its cookie value, and the session."""
        expires = (now or datetime.now(UTC)) + self.lifetime
        session = Session(token=token, csrf=secrets.token_urlsafe(24), expires_at=expires)
        payload = base64.urlsafe_b64encode(
            orjson.dumps({"t": token, "c": session.csrf, "e": int(expires.timestamp())})
        )
        return f"{payload.decode()}.{self._signature(payload)}", session

    def read(self, cookie: str | None, now: datetime | None = None) -> Session:
        """The session a cookie holds; Unauthenticated when there is none, or it was not signed
        here, or it has expired."""
        if not cookie or cookie.count(".") != 1:
            raise Unauthenticated("sign in with your access token")
        payload, signature = cookie.encode().split(b".")
        if not hmac.compare_digest(self._signature(payload), signature.decode()):
            raise Unauthenticated("this session was not opened here: sign in again")
        try:
            fields = orjson.loads(base64.urlsafe_b64decode(payload))
            session = Session(
                token=str(fields["t"]),
                csrf=str(fields["c"]),
                expires_at=datetime.fromtimestamp(int(fields["e"]), UTC),
            )
        except (ValueError, KeyError, TypeError):
            raise Unauthenticated("this session cannot be read: sign in again") from None
        if session.expires_at <= (now or datetime.now(UTC)):
            raise Unauthenticated("your session has expired: sign in again")
        return session

    def _signature(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()


def portal_key(path: Path) -> bytes:
    """The installation's portal key, made (mode 0600) the first time it is asked for;
    InvalidInput naming CONCORD_PORTAL_KEY_FILE when it cannot be made or read."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Made whole or not at all, by one process only: replicas starting together on a
        # shared volume all read the one key that won.
        made = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as error:
        raise _unusable(path, f"cannot be made: {error.strerror}") from None
    else:
        with os.fdopen(made, "w") as key_file:
            key_file.write(secrets.token_hex(32))
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except OSError as error:
        raise _unusable(path, f"cannot be read: {error.strerror}") from None
    except ValueError:
        raise _unusable(path, "must hold the key as hexadecimal digits") from None
    if len(key) < MIN_KEY_BYTES:
        raise _unusable(path, f"must hold at least {MIN_KEY_BYTES} bytes ({2 * MIN_KEY_BYTES} hex)")
    return key


def _unusable(path: Path, problem: str) -> InvalidInput:
    return InvalidInput(
        "CONCORD_PORTAL_KEY_FILE",
        f"the portal key {path} {problem} (set CONCORD_DATA_DIR to a directory this user may "
        "write, or CONCORD_PORTAL_KEY_FILE to a key made with `openssl rand -hex 32`)",
    )
