"""Webhook signing secrets sealed at rest, under a key kept outside the database, so that a dump
of the database does not give them away.

A secret is stored as `v1:<base64(nonce || AES-256-GCM ciphertext and tag)>`, the webhook's id
being the associated data: a sealed secret copied onto another webhook's row does not open. Rows
written before secrets were sealed hold the secret as is (`whsec_...`); they are still read, and
`seal_plaintext` (run by the worker when it starts) seals them.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.errors import Fault
from store.key_files import KEY_BYTES, key_from_file

"""AES-256."""
NONCE_BYTES: Final = 12
SEALED_PREFIX: Final = "v1:"
PLAINTEXT_PREFIX: Final = "whsec_"
"""How every secret Concord made begins: a row that holds one as is was written before sealing."""
KEY_FILE_VARIABLE: Final = "CONCORD_WEBHOOK_KEY_FILE"


class WebhookSecrets:
    """Seals and opens webhook signing secrets with one installation's key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a webhook key is {KEY_BYTES} bytes, not {len(key)}")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path) -> WebhookSecrets:
        """Sealed under the key in `path`, made there (mode 0600) the first time."""
        return cls(webhook_key(path))

    @classmethod
    def ephemeral(cls) -> WebhookSecrets:
        """Under a key of this process alone: what it seals, nothing else opens."""
        return cls(secrets.token_bytes(KEY_BYTES))

    def seal(self, webhook_id: str, secret: str) -> str:
        """The text stored for `secret`, bound to `webhook_id`."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), webhook_id.encode())
        return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, webhook_id: str, stored: str) -> str:
        """The secret `stored` holds for `webhook_id` (sealed, or as written before sealing);
        Fault when it does not open under this key for this webhook."""
        if is_plaintext(stored):
            return stored
        if not stored.startswith(SEALED_PREFIX):
            raise _unreadable(webhook_id, "it is neither sealed (v1:) nor a secret as made")
        try:
            raw = base64.b64decode(stored.removeprefix(SEALED_PREFIX), validate=True)
            opened = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], webhook_id.encode())
        except (binascii.Error, InvalidTag, ValueError):
            raise _unreadable(
                webhook_id,
                f"it does not open under this installation's key ({KEY_FILE_VARIABLE}): sealed "
                "under another key, for another webhook, or altered",
            ) from None
        return opened.decode()


def is_plaintext(stored: str) -> bool:
    """Whether a stored secret was written as is, before secrets were sealed."""
    return stored.startswith(PLAINTEXT_PREFIX)


def _unreadable(webhook_id: str, why: str) -> Fault:
    return Fault(f"the signing secret of webhook {webhook_id} cannot be read: {why}")


def webhook_key(path: Path) -> bytes:
    """The installation's webhook key (32 bytes, as 64 hex digits in `path`), made with mode
    0600 the first time it is asked for; InvalidInput naming CONCORD_WEBHOOK_KEY_FILE when it
    cannot be made or read, or is not such a key."""
    return key_from_file(path, KEY_FILE_VARIABLE, "webhook key", "the workers and the API")
