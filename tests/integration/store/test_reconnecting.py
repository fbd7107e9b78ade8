"""A PostgreSQL server that drops every connection (as a restart does) costs no failed append,
no failed advance of a follower, and no failed token read; an append whose commit went through
on a connection lost before it answered is stored once."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

import store.backend_postgres
from audit.verify import verify_log
from store.backend_postgres import READING_APPLICATION, WRITING_APPLICATION
from store.eventstore import EventStore, open_store
from store.records import CommandRange
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


async def test_a_followers_advance_after_the_server_dropped_every_connection_succeeds_at_once(
    empty_postgres_url: str, new_event: EventFactory
) -> None:
    store: EventStore = await open_store(empty_postgres_url)
    try:
        await store.append("d-follow", 0, [new_event("d-follow", 1), new_event("d-follow", 2)])
        assert await store.projections.advance("a-follower", 0, 1, [])
        assert await _connections_named(empty_postgres_url, WRITING_APPLICATION) >= 1

        assert await _drop_every_connection_to(empty_postgres_url) >= 1
        assert await store.projections.advance("a-follower", 1, 2, [])

        assert await store.projections.position("a-follower") == 2
        assert not await store.projections.advance("a-follower", 1, 2, [])  # moved: refused
    finally:
        await store.close()


def _commit_then_lose_the_answer(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The next transaction on the writing connections commits, then fails as a connection
    dropped before the server's answer came back does; the failures are listed as they happen."""
    committing = store.backend_postgres._in_transaction_on
    lost: list[str] = []

    async def answer_lost(pool: asyncpg.Pool, work: Any) -> Any:
        outcome = await committing(pool, work)
        if not lost:
            lost.append("committed, answer lost")
            raise asyncpg.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation"
            )
        return outcome

    monkeypatch.setattr(store.backend_postgres, "_in_transaction_on", answer_lost)
    return lost


async def test_an_append_committed_on_a_connection_lost_before_its_answer_is_stored_once(
    empty_postgres_url: str, new_event: EventFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    store: EventStore = await open_store(empty_postgres_url)
    try:
        first = await store.append("d-lost", 0, [new_event("d-lost", 1)])
        lost = _commit_then_lose_the_answer(monkeypatch)

        second = await store.append("d-lost", 1, [new_event("d-lost", 2), new_event("d-lost", 3)])

        assert lost == ["committed, answer lost"]
        stored = await store.stream("d-lost")
        assert [e.stream_version for e in stored] == [1, 2, 3]
        assert second == stored[1:]
        assert second[0].prev_hash == first[0].hash
        assert (await verify_log(store, workers=1)).ok
    finally:
        await store.close()


async def test_an_adopting_append_committed_on_a_connection_lost_before_its_answer_is_its_own(
    empty_postgres_url: str, new_event: EventFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's append: found stored with the same content, it is its own batch, not one to
    adopt, and its command's range is stored once."""
    store: EventStore = await open_store(empty_postgres_url)
    try:
        await store.append("d-adopt", 0, [new_event("d-adopt", 1)])
        lost = _commit_then_lose_the_answer(monkeypatch)
        command = CommandRange("key-2", 2, 2, "0" * 64)

        appended = await store.append_adopting("d-adopt", 1, [new_event("d-adopt", 2)], [command])

        assert lost == ["committed, answer lost"]
        assert not appended.adopted
        assert [e.stream_version for e in appended.events] == [2]
        # Another writer's batch at the same version adopts what is stored: one range, once.
        other = new_event("d-adopt", 2, payload={"title": "another", "revision": 9})
        found = await store.append_adopting("d-adopt", 1, [other])
        assert found.adopted
        assert found.events == appended.events
        assert found.commands == [command]
    finally:
        await store.close()


DROP_READERS = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    f"WHERE application_name = '{READING_APPLICATION}'"
)


async def _reading_connections(store_url: str) -> int:
    return await _connections_named(store_url, READING_APPLICATION)


async def _connections_named(store_url: str, application: str) -> int:
    database = make_url(store_url).set(drivername="postgresql")
    watcher = await asyncpg.connect(database.render_as_string(hide_password=False), timeout=5)
    try:
        count = await watcher.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            database.database,
            application,
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
