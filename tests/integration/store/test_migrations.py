"""Migrations build the schema the code expects; a store refuses a database left behind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.archivist import ARCHIVIST
from activities.notify import NOTIFICATIONS
from audit.verify import verify_log
from domain.errors import InvalidHistory, InvalidInput, Unavailable
from store.engine import create_store_engine
from store.eventstore import EventStore, open_store
from store.migrate import alembic_config, current_revision, downgrade, upgrade
from store.projections import ProjectionRunner
from store.queries import pending_for_member, sittings_query
from store.read_models import DECISIONS_PROJECTION, DecisionsProjection
from store.revisions import head_revision, revisions
from store.schema import PARTIAL_INDEXES, metadata
from tests.integration.store.conftest import BACKENDS, EventFactory, sqlite_url
from tests.integration.store.test_read_models import record
from tests.pg import shown, throwaway_database
from tests.shutdown import stopped
from tests.unit.domain.scenario import Scenario


@pytest.fixture(params=BACKENDS)
async def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a database that was never migrated."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "var" / "concord.db")
        return
    async with throwaway_database("concord_migrations") as url:
        yield url


@asynccontextmanager
async def _opened(url: str) -> AsyncIterator[EventStore]:
    store = await open_store(url)
    try:
        yield store
    finally:
        await stopped(f"the event store at {shown(url)}", store.close())


@asynccontextmanager
async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_store_engine(url)
    try:
        yield engine
    finally:
        await stopped(f"the engine of the database at {shown(url)}", engine.dispose())


async def test_a_database_never_migrated_is_refused_naming_the_upgrade_command(
    blank_url: str,
) -> None:
    with pytest.raises(Unavailable, match=r"no .*run `concord db upgrade`"):
        await open_store(blank_url)


async def test_a_missing_sqlite_file_is_not_created_by_a_refused_open(tmp_path: Path) -> None:
    path = tmp_path / "concord.db"

    with pytest.raises(Unavailable, match="concord db upgrade"):
        await open_store(sqlite_url(path))

    assert not path.exists()


async def test_a_schema_older_than_the_code_is_refused_until_upgraded(
    blank_url: str, new_event: EventFactory
) -> None:
    await upgrade(blank_url, "0001")

    with pytest.raises(Unavailable, match=r"revision 0001, older than .* `concord db upgrade`"):
        await open_store(blank_url)

    await upgrade(blank_url)
    async with _opened(blank_url) as store:
        await store.append("d-1", 0, [new_event("d-1", 1)])
        assert await store.stream_version("d-1") == 1


async def test_upgrading_a_log_to_derived_event_ids_keeps_every_event_and_the_chain(
    blank_url: str, new_event: EventFactory
) -> None:
    await upgrade(blank_url)
    async with _opened(blank_url) as store:
        for decision_id in ("d-1", "d-2"):
            await store.append(decision_id, 0, [new_event(decision_id, v) for v in (1, 2, 3)])
        before = [event async for event in store.read_log()]
    await downgrade(blank_url, "0002")  # back to the unique index on event ids, rows kept

    await upgrade(blank_url)

    async with _opened(blank_url) as store:
        assert [event async for event in store.read_log()] == before
        assert (await verify_log(store)).ok
    assert await _schema_differences(blank_url) == []


async def test_a_log_holding_an_event_id_not_derived_is_not_upgraded(
    blank_url: str, new_event: EventFactory
) -> None:
    await upgrade(blank_url)
    async with _opened(blank_url) as store:
        await store.append("d-1", 0, [new_event("d-1", v) for v in (1, 2)])
    await downgrade(blank_url, "0002")
    async with _engine(blank_url) as engine, engine.begin() as connection:
        await connection.execute(
            text("UPDATE events SET event_id = :id WHERE position = 2"), {"id": str(uuid4())}
        )

    with pytest.raises(InvalidHistory, match=r"the event at position 2 has id .* d-1 v2"):
        await upgrade(blank_url)

    async with _engine(blank_url) as engine:
        assert await current_revision(engine) == "0002"


async def test_upgrading_to_owed_actions_rebuilds_the_decisions_read_models_from_the_log(
    blank_url: str,
) -> None:
    await upgrade(blank_url)
    scenario = Scenario("d-2004-terrorism").planned()
    async with _opened(blank_url) as store:
        await record(store, scenario)
        await ProjectionRunner(store, [DecisionsProjection()]).catch_up()
        owed = await pending_for_member(store, "RUS")
    await downgrade(blank_url, "0012")  # the read models as the release before kept them

    await upgrade(blank_url)

    async with _opened(blank_url) as store:
        runner = ProjectionRunner(store, [DecisionsProjection()])
        assert await runner.position(DECISIONS_PROJECTION) == 0
        assert await pending_for_member(store, "RUS") == []
        assert await runner.catch_up() == len(scenario.events)
        assert await pending_for_member(store, "RUS") == owed
    assert [row.item_id for row in owed] == ["A1", "A2"]
    assert await _schema_differences(blank_url) == []


@pytest.mark.parametrize(
    ("follower", "release_before"), [(NOTIFICATIONS, "0018"), (ARCHIVIST, "0019")]
)
async def test_an_upgraded_log_is_followed_from_its_end_by_a_follower_new_to_it(
    blank_url: str, new_event: EventFactory, follower: str, release_before: str
) -> None:
    """Each decision's run told people of its events, and archived itself, before a follower of
    the log did: the follower of an upgraded installation starts at the end of its log, a new
    installation's at 0, and an upgrade run again leaves it where it is."""
    await upgrade(blank_url)  # the empty log of a new installation
    async with _opened(blank_url) as store:
        assert await store.projections.position(follower) == 0
        await store.append("d-1", 0, [new_event("d-1", v) for v in (1, 2, 3)])
    await downgrade(blank_url, release_before)  # an installation of the release before, its log
    async with _engine(blank_url) as engine, engine.begin() as connection:
        rows = await connection.execute(text("SELECT name FROM projection_positions"))
        assert follower not in {row.name for row in rows}

    await upgrade(blank_url)

    async with _opened(blank_url) as store:
        assert await store.projections.position(follower) == 3
    await upgrade(blank_url)
    async with _opened(blank_url) as store:
        assert await store.projections.position(follower) == 3


async def test_a_schema_newer_than_the_code_is_refused(blank_url: str) -> None:
    await upgrade(blank_url)
    engine = create_store_engine(blank_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        await engine.dispose()

    with pytest.raises(Unavailable, match="revision 9999, unknown to this code"):
        await open_store(blank_url)


async def _schema_differences(url: str) -> list[object]:
    """What tells the database's schema from the code's metadata (nothing, when they agree)."""

    def declared(name: str | None, kind: str, parent: object) -> bool:
        return not (kind == "index" and name in PARTIAL_INDEXES)

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": declared}
        )
        return list(compare_metadata(context, metadata))

    async with _engine(url) as engine, engine.connect() as connection:
        return await connection.run_sync(differences)


async def test_the_migrations_build_exactly_the_schema_of_the_code(blank_url: str) -> None:
    await upgrade(blank_url)

    assert await _schema_differences(blank_url) == []
    assert head_revision() == "0020"


async def test_the_sittings_are_found_through_their_partial_index_on_each_database(
    blank_url: str,
) -> None:
    """The index the migrations alone declare is there, partial, and what the query of the
    sittings reads: the planner is asked for its plan with sequential scans priced out."""
    await upgrade(blank_url)
    sqlite = blank_url.startswith("sqlite")
    async with _engine(blank_url) as engine, engine.connect() as connection:
        query = sittings_query().compile(
            dialect=engine.dialect, compile_kwargs={"literal_binds": True}
        )
        if sqlite:
            listed = await connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
            )
            plan = await connection.execute(text(f"EXPLAIN QUERY PLAN {query}"))
        else:
            listed = await connection.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events'")
            )
            await connection.execute(text("SET enable_seqscan = off"))
            plan = await connection.execute(text(f"EXPLAIN {query}"))
        definitions = {name: str(sql) for name, sql in listed}
        steps = " ".join(str(column) for row in plan for column in row)

    for name in PARTIAL_INDEXES:
        assert "WHERE" in definitions[name].upper()
        assert "SittingConvened" in definitions[name]
    assert "ix_events_sittings_convened" in steps


def test_the_revisions_read_from_the_files_are_alembics_in_one_line() -> None:
    """The schema check reads revisions from the migrations' file names (without importing
    Alembic): they must be Alembic's own, each revising the one before."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    assert scripts.get_current_head() == head_revision()
    chain = list(reversed(list(scripts.walk_revisions())))
    assert [script.revision for script in chain] == revisions()
    assert [script.down_revision for script in chain] == [None, *revisions()[:-1]]


async def test_upgrading_twice_changes_nothing(blank_url: str) -> None:
    await upgrade(blank_url)
    await upgrade(blank_url)

    store = await open_store(blank_url)
    await store.close()


async def test_an_unsupported_database_url_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="database_url: unsupported driver 'mysql'"):
        await open_store("mysql://localhost/concord")
