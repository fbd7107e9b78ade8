"""A PostgreSQL server that drops every connection (as a restart does) costs no failed append,
and no failed token read."""

from __future__ import annotations

import asyncio
import subprocess

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from store.backend_postgres import READING_APPLICATION
from store.eventstore import EventStore, open_store
from tests.integration.store.conftest import EventFactory

pytestmark = pytest.mark.postgres


async def _drop_every_connection_to(store_url: str) -> int:
    """What a server restart does to a pool: every open connection to the store's database dies."""
    url = make_url(store_url)
    server = url.set(drivername="postgresql", database="postgres")
    maintenance = await asyncpg.connect(server.render_as_string(hide_password=False), timeout=5)
    try:
        dropped = await maintenance.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            url.database,
        )
    finally:
        await maintenance.close()
    return int(dropped)


async def test_appends_after_the_server_dropped_every_pooled_connection_succeed_at_once(
    empty_postgres_url: str, new_event: EventFactory
) -> None:
    store: EventStore = await open_store(empty_postgres_url)
    try:
        first = await store.append("d-restart", 0, [new_event("d-restart", 1)])
        await store.stream("d-restart")

        assert await _drop_every_connection_to(empty_postgres_url) >= 1
        second = await store.append("d-restart", 1, [new_event("d-restart", 2)])

        assert [e.stream_version for e in await store.stream("d-restart")] == [1, 2]
        assert second[0].prev_hash == first[0].hash
    finally:
        await store.close()


DROP_READERS = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    f"WHERE application_name = '{READING_APPLICATION}'"
)


async def _reading_connections(store_url: str) -> int:
    database = make_url(store_url).set(drivername="postgresql")
    watcher = await asyncpg.connect(database.render_as_string(hide_password=False), timeout=5)
    try:
        count = await watcher.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            database.database,
            READING_APPLICATION,
        )
    finally:
        await watcher.close()
    return int(count)


async def test_token_reads_after_the_server_dropped_every_connection_answer_at_once(
    empty_postgres_url: str,
) -> None:
    store: EventStore = await open_store(empty_postgres_url)
    try:
        record, token = await store.tokens.issue("member", "USA", "operator:secretariat", None)
        await asyncio.gather(*(store.tokens.presented(token) for _ in range(12)))
        assert await _reading_connections(empty_postgres_url) >= 2  # the reads' own, several

        # Dropped while the event loop does not run: the kept connections have not yet read
        # that they are dead when the next reads take them.
        server = make_url(empty_postgres_url).set(drivername="postgresql", database="postgres")
        dropped = subprocess.run(
            ["psql", server.render_as_string(hide_password=False), "-Atc", DROP_READERS],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        assert int(dropped.stdout) >= 2
        # Every kept connection is dead: none of the reads may fail, at once or after.
        reads = await asyncio.gather(*(store.tokens.presented(token) for _ in range(12)))
        assert reads == [record] * 12
        assert await store.tokens.presented(token) == record
    finally:
        await store.close()
