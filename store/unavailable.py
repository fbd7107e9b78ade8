"""The store's one translation of an unreachable database into domain.errors.Unavailable."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import asyncpg
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from domain.errors import Unavailable

UNREACHABLE: Final = (
    # Through SQLAlchemy: lost connections, locked databases, an exhausted pool.
    OperationalError,
    InterfaceError,
    PoolTimeout,
    # On the drivers themselves (the append and verification paths), and timeouts (OSError).
    OSError,
    sqlite3.OperationalError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
)
"""What says the database cannot be reached now (rather than that a statement is wrong)."""


@contextmanager
def unavailable_on_failure(doing: str = "reached") -> Iterator[None]:
    """Raise Unavailable ("the event store cannot be <doing>: ...") for an UNREACHABLE error."""
    try:
        yield
    except UNREACHABLE as error:
        raise Unavailable(f"the event store cannot be {doing}: {error}") from error
