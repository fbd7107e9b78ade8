"""The SDK's private code Concord steps around, as it was read: each piece by the sha256 of its
source, so that a release of the SDK that changes any of it runs as the SDK has it until it is
read again."""

from __future__ import annotations

import hashlib
import importlib
import inspect
from collections.abc import Mapping
from typing import Any


def source_digest(where: str, found: object = None) -> str | None:
    """The sha256 of the source of `module:name` or `module:Class.method` (or of `found`, the
    code that was there before it was replaced); None when it cannot be read."""
    module, _, qualified = where.partition(":")
    try:
        code: Any = found
        if code is None:
            code = importlib.import_module(module)
            for name in qualified.split("."):
                code = getattr(code, name)
        return hashlib.sha256(inspect.getsource(code).encode()).hexdigest()
    except (ImportError, AttributeError, OSError, TypeError):
        return None


def reviewed(digests: Mapping[str, str], replaced: Mapping[str, object] | None = None) -> bool:
    """Whether every piece of code in `digests` is, by its source, as it was read; a piece in
    `replaced` is read as it was before Concord put its own in its place."""
    replaced = replaced or {}
    return all(
        source_digest(where, replaced.get(where)) == digest for where, digest in digests.items()
    )
