"""PostgreSQL for tests: reachable or skipped (failed when CI requires it), throwaway databases.

Any suite that needs PostgreSQL calls `require_postgres()` from a fixture and creates its own
database with `throwaway_database("concord_<suite>")`, so suites never share tables.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

from tests.shutdown import stopped


class PostgresTestSettings(BaseSettings):
    """`CONCORD_TEST_POSTGRES_URL` and `CONCORD_REQUIRE_POSTGRES` from the environment."""

    model_config = SettingsConfigDict(env_prefix="CONCORD_", extra="ignore")

    test_postgres_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
    require_postgres: bool = False


def _server_url() -> URL:
    return make_url(PostgresTestSettings().test_postgres_url)


def shown(url: str) -> str:
    """A database URL as a message may show it: its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def _dsn(url: URL) -> str:
    """The URL as asyncpg takes it (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def require_postgres() -> URL:
    """The test server's URL; skips the test when it cannot be reached, or fails it when
    `CONCORD_REQUIRE_POSTGRES=1` says the run must not silently lose its PostgreSQL tests."""
    url = _server_url()
    try:
        connection = await asyncpg.connect(_dsn(url), timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        unreachable = f"{type(error).__name__}: {error}"
    else:
        await connection.close()
        return url
    message = (
        f"PostgreSQL at {url.render_as_string(hide_password=True)} is unreachable ({unreachable})"
    )
    if PostgresTestSettings().require_postgres:
        pytest.fail(f"{message}; CONCORD_REQUIRE_POSTGRES=1 requires it", pytrace=False)
    pytest.skip(message)


@asynccontextmanager
async def throwaway_database(prefix: str) -> AsyncIterator[str]:
    """A new, empty database named `<prefix>_<random>` on the test server, dropped afterwards;
    yields its SQLAlchemy URL."""
    server = await require_postgres()
    name = f"{prefix}_{secrets.token_hex(4)}"
    maintenance = await asyncpg.connect(_dsn(server))
    try:
        await maintenance.execute(f'CREATE DATABASE "{name}"')
    finally:
        await maintenance.close()
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        await stopped(f"the throwaway PostgreSQL database {name}", _dropped(server, name))


async def _dropped(server: URL, name: str) -> None:
    maintenance = await asyncpg.connect(_dsn(server))
    try:
        await maintenance.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await maintenance.close()
