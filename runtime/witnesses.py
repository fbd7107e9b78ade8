"""The log's witness policy, read from the file the settings name (CONCORD_WITNESS_POLICY_FILE)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.cosigning import WitnessPolicy
from domain.errors import InvalidInput

if TYPE_CHECKING:
    from runtime.settings import Settings


def witness_policy(settings: Settings) -> WitnessPolicy | None:
    """The log's witness policy, read from CONCORD_WITNESS_POLICY_FILE; None when unset."""
    path = settings.witness_policy_file
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput("CONCORD_WITNESS_POLICY_FILE", f"cannot read {path}: {error}") from None
    return WitnessPolicy.parse(text, "CONCORD_WITNESS_POLICY_FILE")
