"""PostgreSQL for tests: reachable or skipped (failed when CI requires it), throwaway databases.

Any suite that needs PostgreSQL calls `require_postgres()` from a fixture and creates its own
database with `throwaway_database("concord_<suite>")`, so suites never share tables.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

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
    test_postgres_cluster: str = ""
    """The Debian cluster (`<version>/<name>`) serving the test URL, for the tests that restart
    it; empty: the machine's newest version's `main`."""


def cluster() -> tuple[str, str]:
    """The version and name of the cluster the tests' PostgreSQL runs as."""
    named = PostgresTestSettings().test_postgres_cluster
    if named:
        version, _, name = named.partition("/")
        return version, name
    return sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1], "main"


def ready(port: int, within_s: float = 60) -> None:
    """Wait until PostgreSQL accepts connections on 127.0.0.1:`port`."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        probe = ["pg_isready", "-h", "127.0.0.1", "-p", str(port), "-q"]
        if subprocess.run(probe, check=False).returncode == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"PostgreSQL on port {port} did not accept connections within {within_s} s")


@contextmanager
def cluster_of_its_own(prefix: str, port: int) -> Iterator[dict[str, str]]:
    """A PostgreSQL cluster of its own on `port` (Debian's `pg_createcluster`, as root), for a
    suite that restarts its server without cutting anybody else's sessions; dropped afterwards.
    Yields the settings that point the tests at it; skips (fails when PostgreSQL is required)
    where no cluster can be made."""
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    name = f"{prefix}_{secrets.token_hex(3)}"
    made = subprocess.run(
        ["pg_createcluster", version, name, "-p", str(port), "--start", "--", "--auth=trust"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if made.returncode != 0:
        message = f"no PostgreSQL cluster of its own could be made: {made.stderr.strip()}"
        if PostgresTestSettings().require_postgres:
            pytest.fail(f"{message}; CONCORD_REQUIRE_POSTGRES=1 requires it", pytrace=False)
        pytest.skip(message)
    try:
        ready(port)
        yield {
            "CONCORD_TEST_POSTGRES_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres",
            "CONCORD_TEST_POSTGRES_CLUSTER": f"{version}/{name}",
        }
    finally:
        dropped = ["pg_dropcluster", "--stop", version, name]
        subprocess.run(dropped, capture_output=True, timeout=120, check=False)


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
