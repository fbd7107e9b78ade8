"""What the store calls unavailable: a database it cannot reach now, however the driver and
SQLAlchemy wrap it — and nothing else."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from domain.errors import Unavailable
from store.unavailable import unavailable_on_failure


def _wrapped(driver_error: Exception) -> DBAPIError:
    """As SQLAlchemy's asyncpg dialect raises it: the adapter's error, caused by the driver's."""
    adapted = Exception(str(driver_error))
    adapted.__cause__ = driver_error
    return DBAPIError("SELECT 1", None, adapted)


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(asyncpg.CannotConnectNowError("the database system is shutting down")),
        _wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection")),
        _wrapped(ConnectionRefusedError(111, "Connect call failed")),
        asyncpg.exceptions.CrashShutdownError("the database system is in recovery mode"),
    ],
    ids=["shutting-down", "admin-shutdown", "refused", "recovery"],
)
def test_a_server_restarting_or_gone_is_unavailable(error: Exception) -> None:
    reached = pytest.raises(Unavailable, match="the event store cannot be reached")
    with reached, unavailable_on_failure():
        raise error


def test_a_wrong_statement_is_not_called_unavailable() -> None:
    constraint = _wrapped(asyncpg.UniqueViolationError("duplicate key value"))
    with pytest.raises(DBAPIError), unavailable_on_failure():
        raise constraint
    with pytest.raises(IntegrityError), unavailable_on_failure():
        raise IntegrityError("INSERT", None, Exception("duplicate key value"))
