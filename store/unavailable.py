"""The store's one translation of an unreachable database into domain.errors.Unavailable."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Final

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
)
"""What says the database cannot be reached now (rather than that a statement is wrong), besides
asyncpg's own errors (`_postgres_unreachable`)."""


@cache
def _postgres_unreachable() -> tuple[type[BaseException], ...]:
    """asyncpg's errors that say the server cannot be reached now. asyncpg is imported by the
    PostgreSQL backend alone: while it is not loaded, no error can be one of its."""
    asyncpg = sys.modules["asyncpg"]
    return (
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


def _reports_unreachable(error: BaseException) -> bool:
    if isinstance(error, UNREACHABLE):
        return True
    return "asyncpg" in sys.modules and isinstance(error, _postgres_unreachable())


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached now. SQLAlchemy wraps a driver's
    error it does not classify (asyncpg's "the database system is shutting down" while a
    server restarts) in a plain DBAPIError: the driver's error is then found in its chain."""
    if _reports_unreachable(error):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    cause: BaseException | None = error.orig
    for _ in range(4):  # the adapter's error, then the driver's own
        if cause is None:
            return False
        if _reports_unreachable(cause):
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
