"""Fixtures: an empty, migrated event store on each backend (SQLite file, PostgreSQL database)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update

from store.eventstore import EventStore, open_store
from store.hashing import GENESIS_HASH
from store.migrate import upgrade
from store.records import NewEvent, event_id_for
from store.schema import log_head, metadata
from tests.integration.store.raw_sql import raw_transaction
from tests.pg import shown, throwaway_database
from tests.shutdown import stopped

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]

T0 = datetime(2004, 12, 9, 9, 0, tzinfo=UTC)
"""The NRC's Action Plan on Terrorism was adopted on 9 December 2004."""


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("store-template") / "concord.db"
    await upgrade(sqlite_url(path))
    return path


@pytest.fixture(scope="session")
async def postgres_url() -> AsyncIterator[str]:
    """A throwaway PostgreSQL database for this session, migrated to the newest schema."""
    async with throwaway_database("concord_store") as url:
        await upgrade(url)
        yield url


@pytest.fixture
async def empty_postgres_url(postgres_url: str) -> str:
    """The session's PostgreSQL database with its log emptied, for a test that opens stores of
    its own: it starts from nothing whichever tests ran before it in this process."""
    await _empty(postgres_url)
    return postgres_url


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of an empty, migrated event store on the parametrized backend."""
    if request.param == "sqlite":
        path = tmp_path / "concord.db"
        shutil.copyfile(sqlite_template, path)
        return sqlite_url(path)
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[EventStore]:
    """An open EventStore on an empty log."""
    event_store = await open_store(store_url)
    try:
        if store_url.startswith("postgresql"):
            await _empty(store_url)
        yield event_store
    finally:
        await stopped(f"the event store at {shown(store_url)}", event_store.close())


async def _empty(url: str) -> None:
    tables = [table.name for table in metadata.sorted_tables if table is not log_head]
    async with raw_transaction(url) as connection:
        await connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        await connection.execute(update(log_head).values(position=0, hash=GENESIS_HASH))


EventFactory = Callable[..., NewEvent]


@pytest.fixture
def new_event() -> EventFactory:
    """Builds a NewEvent; its id is derived from decision and version."""

    def build(decision_id: str, stream_version: int, **fields: Any) -> NewEvent:
        values: dict[str, Any] = {
            "event_id": event_id_for(decision_id, stream_version),
            "decision_id": decision_id,
            "stream_version": stream_version,
            "type": "ProposalSubmitted",
            "payload": {"title": f"text {stream_version}", "revision": stream_version},
            "actor": "RUS",
            "recorded_by": "member:RUS",
            "occurred_at": T0 + timedelta(hours=stream_version),
        }
        return NewEvent(**(values | fields))

    return build
