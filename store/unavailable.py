"""The store's one translation of an unreachable database into domain.errors.Unavailable."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
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
    # The server shutting down, restarting or in recovery (SQLSTATE class 57).
    asyncpg.exceptions.OperatorInterventionError,
    # A database that does not exist, or a role or password it refuses: the store cannot be
    # reached as configured (SQLSTATE 3D000, class 28), which is no defect of the log.
    asyncpg.InvalidCatalogNameError,
    asyncpg.InvalidAuthorizationSpecificationError,
)
"""What says the database cannot be reached now (rather than that a statement is wrong)."""


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached now. SQLAlchemy wraps a driver's
    error it does not classify (asyncpg's "the database system is shutting down" while a
    server restarts) in a plain DBAPIError: the driver's error is then found in its chain."""
    if isinstance(error, UNREACHABLE):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    cause: BaseException | None = error.orig
    for _ in range(4):  # the adapter's error, then the driver's own
        if cause is None:
            return False
        if isinstance(cause, UNREACHABLE):
            return True
        cause = cause.__cause__
    return False


@contextmanager
def unavailable_on_failure(doing: str = "reached") -> Iterator[None]:
    """Raise Unavailable ("the event store cannot be <doing>: ...") for an UNREACHABLE error."""
    try:
        yield
    except Exception as error:
        if unreachable(error):
            raise Unavailable(f"the event store cannot be {doing}: {reason(error)}") from error
        raise


def reason(error: BaseException) -> str:
    """What the driver said, on one line: SQLAlchemy's wrapping (the adapter's name, its
    background link) left out."""
    said = str(getattr(error, "orig", None) or error) if isinstance(error, DBAPIError) else ""
    said = said or str(error) or type(error).__name__
    return " ".join(said.split())
