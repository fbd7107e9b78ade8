"""A PostgreSQL server that drops every connection (as a restart does) costs no failed append."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.engine import make_url

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
