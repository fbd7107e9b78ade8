"""Temporal for tests: the servers come from the virtual environment's own binaries."""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.common import SearchAttributeKey

from workflows.decision import SEARCH_ATTRIBUTES

BIN = Path(sys.executable).parent
DEV_SERVER = BIN / "temporal"
TEST_SERVER = BIN / "temporal-test-server"


def binary(path: Path) -> str:
    """The path of a Temporal binary the venv installed; fails clearly when it is missing."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make install` to install it")
    return str(path)


SEARCH_ATTRIBUTE_KEYS: tuple[SearchAttributeKey[str], ...] = SEARCH_ATTRIBUTES
