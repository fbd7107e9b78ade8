"""Secret keys kept in files outside the database (the portal's, the webhooks'): made with mode
0600 the first time they are asked for, by one process only, and checked when read."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Final

from domain.errors import InvalidInput

KEY_BYTES: Final = 32


def key_from_file(path: Path, variable: str, what: str, shared_by: str) -> bytes:
    """The 32-byte key `path` holds as 64 hex digits, made there (mode 0600) if absent;
    InvalidInput naming `variable` when it cannot be made or read, or is not such a key."""

    def unusable(problem: str) -> InvalidInput:
        return InvalidInput(
            variable,
            f"the {what} {path} {problem} (set CONCORD_DATA_DIR to a directory this user may "
            f"write, or {variable} to a key made with `openssl rand -hex {KEY_BYTES}`; "
            f"{shared_by} need the same key)",
        )

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Made whole or not at all, by one process only: processes starting together on a
        # shared volume all read the one key that won.
        made = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as error:
        raise unusable(f"cannot be made: {error.strerror}") from None
    else:
        with os.fdopen(made, "w") as key_file:
            key_file.write(secrets.token_hex(KEY_BYTES))
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except OSError as error:
        raise unusable(f"cannot be read: {error.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise unusable("must hold the key as hexadecimal digits") from None
    if len(key) != KEY_BYTES:
        raise unusable(f"must hold {KEY_BYTES} bytes ({2 * KEY_BYTES} hex digits)")
    return key


def write_secret(path: Path, text: str, field: str, kept: str) -> None:
    """Write `text` to the new file `path`, readable by its owner alone (mode 0600), made by
    one process only; InvalidInput naming `field` when the file exists (`kept` says why it is
    never overwritten) or cannot be made."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(field, f"{path} exists; {kept}") from None
    except OSError as error:
        raise InvalidInput(field, f"{path} cannot be made: {error.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
