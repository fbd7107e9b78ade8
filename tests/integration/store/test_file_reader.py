"""A SQLite store's file read without SQLAlchemy (what `concord status` reads) gives the answers
the store gives, and refuses what the store refuses, in the same words."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from domain.errors import InvalidHistory, Unavailable
from store import decision_events
from store.engine import SQLITE_BUSY_TIMEOUT_MS
from store.eventstore import EventStore, open_store
from store.file_reader import BUSY_TIMEOUT_S, DecisionFile
from store.projections import ProjectionRunner
from store.read_models import DecisionsProjection
from store.states import LogReads, state_now
from store.upcasting import Upcasters
from store.urls import sqlite_file
from tests.integration.store.conftest import sqlite_url
from tests.shutdown import stopped
from tests.unit.domain.scenario import Scenario


async def record(store: EventStore, scenario: Scenario) -> None:
    version = await store.stream_version(scenario.decision_id)
    records = [decision_events.new_event(event) for event in scenario.events[version:]]
    await store.append(scenario.decision_id, version, records)


@pytest.fixture
async def sqlite_store(tmp_path: Path, sqlite_template: Path) -> tuple[Path, EventStore]:
    path = tmp_path / "concord.db"
    shutil.copyfile(sqlite_template, path)
    return path, await open_store(sqlite_url(path))


async def test_a_decisions_events_and_state_read_from_the_file_are_the_stores(
    sqlite_store: tuple[Path, EventStore],
) -> None:
    path, store = sqlite_store
    try:
        scenario = Scenario("d-file").planned()
        records = [decision_events.new_event(event) for event in scenario.events]
        await store.append("d-file", 0, records[:5])
        await ProjectionRunner(store, [DecisionsProjection()]).catch_up()
        await store.append("d-file", 5, records[5:])  # the read model lags: topped up from the log
        kinds = {event.type for event in await store.stream("d-file")}
        assert len(kinds) >= 8, kinds

        reader = DecisionFile.open(path)
        try:
            for version in (1, 4, 1000):
                assert await reader.stream("d-file", version) == await store.stream(
                    "d-file", version
                )
            through_store = LogReads(store)
            assert await reader.stored_state("d-file") == await through_store.stored_state("d-file")
            assert await state_now(reader, "d-file") == scenario.state
            assert await state_now(through_store, "d-file") == scenario.state
            assert await reader.stream("d-unknown") == []
            assert await state_now(reader, "d-unknown") is None
        finally:
            reader.close()
    finally:
        await stopped("the event store", store.close())


async def test_the_file_is_read_as_one_snapshot_while_the_store_appends(
    sqlite_store: tuple[Path, EventStore],
) -> None:
    path, store = sqlite_store
    try:
        scenario = Scenario("d-snap").proposed()
        await record(store, scenario)
        reader = DecisionFile.open(path)
        try:
            before = await reader.stream("d-snap")
            scenario.forwarded()
            await record(store, scenario)  # a writer commits while the reader is open
            assert await reader.stream("d-snap") == before
            assert len(await store.stream("d-snap")) > len(before)
        finally:
            reader.close()
        reopened = DecisionFile.open(path)
        try:
            assert len(await reopened.stream("d-snap")) == len(await store.stream("d-snap"))
        finally:
            reopened.close()
    finally:
        await stopped("the event store", store.close())


async def test_events_are_upcast_as_the_store_upcasts_them(
    sqlite_store: tuple[Path, EventStore],
) -> None:
    path, store = sqlite_store
    try:
        await record(store, Scenario("d-up").proposed())
        lifted = Upcasters()

        @lifted.register("ProposalSubmitted", 1)
        def _tagged(payload: dict[str, object]) -> dict[str, object]:
            return payload | {"tag": "lifted"}

        reader = DecisionFile.open(path, upcasters=lifted)
        try:
            (event,) = await reader.stream("d-up")
        finally:
            reader.close()
        assert (event.schema_version, event.stored_schema_version) == (2, 1)
        assert event.payload["tag"] == "lifted"
    finally:
        await stopped("the event store", store.close())


async def test_a_row_that_is_no_event_is_invalid_history_naming_its_position(
    sqlite_store: tuple[Path, EventStore],
) -> None:
    path, store = sqlite_store
    try:
        await record(store, Scenario("d-bad").proposed())
    finally:
        await stopped("the event store", store.close())
    with sqlite3.connect(path) as forger:
        forger.execute("UPDATE events SET body = X'7b7d' WHERE decision_id = 'd-bad'")
    reader = DecisionFile.open(path)
    try:
        with pytest.raises(InvalidHistory, match="the event at position 1 cannot be read"):
            await reader.stream("d-bad")
    finally:
        reader.close()


async def test_a_file_the_store_would_refuse_is_refused_in_the_stores_words(
    tmp_path: Path, sqlite_template: Path
) -> None:
    async def refusals(path: Path) -> tuple[str, str]:
        with pytest.raises(Unavailable) as by_store:
            await open_store(sqlite_url(path))
        with pytest.raises(Unavailable) as by_file:
            DecisionFile.open(path)
        return by_store.value.message, by_file.value.message

    missing = tmp_path / "none" / "concord.db"
    said, read = await refusals(missing)
    assert said == read and "no event store at" in read and not missing.exists()

    for revision, words in (("0003", "older than this code's"), ("9999", "newer Concord")):
        path = tmp_path / f"at-{revision}.db"
        shutil.copyfile(sqlite_template, path)
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))
        said, read = await refusals(path)
        assert said == read and words in read

    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    said, read = await refusals(empty)
    assert said == read and "has no schema yet" in read

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    with pytest.raises(Unavailable, match="cannot be read"):
        DecisionFile.open(garbage)


def test_a_read_waits_for_a_lock_as_long_as_the_stores_connections_wait() -> None:
    assert BUSY_TIMEOUT_S * 1000 == SQLITE_BUSY_TIMEOUT_MS


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite+aiosqlite:////var/lib/concord/concord.db", "/var/lib/concord/concord.db"),
        ("sqlite+aiosqlite:///var/concord.db", "var/concord.db"),
        ("sqlite+aiosqlite:////data/with%20space.db", "/data/with space.db"),
        ("sqlite+aiosqlite:////data/c.db?mode=ro", None),
        ("sqlite+aiosqlite:///:memory:", None),
        ("sqlite+aiosqlite:///", None),
        ("postgresql+asyncpg://concord@db/concord", None),
    ],
)
def test_only_a_plain_sqlite_url_is_read_as_a_file(url: str, path: str | None) -> None:
    found = sqlite_file(url)
    assert (str(found) if found is not None else None) == path
