"""Schema migrations run from code (Alembic, async), and the check that refuses old schemas."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from store.engine import create_store_engine, parse_database_url, sqlite_path
from store.revisions import check_revision

if TYPE_CHECKING:  # Alembic is imported to migrate, not to check a schema (every command does)
    from alembic.config import Config

_PACKAGE: Final = Path(__file__).parent


def alembic_config() -> Config:
    """The store's Alembic configuration, found inside the installed package."""
    from alembic.config import Config

    config = Config(str(_PACKAGE / "alembic.ini"))
    config.set_main_option("script_location", str(_PACKAGE / "migrations"))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (creating a SQLite file and its folder)."""
    parsed = parse_database_url(url)
    path = sqlite_path(parsed)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(parsed)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_on, revision)
    finally:
        await engine.dispose()


async def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` back to `revision` (to run an older release on it)."""
    engine = create_store_engine(parse_database_url(url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_on, revision)
    finally:
        await engine.dispose()


def _upgrade_on(connection: Connection, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _downgrade_on(connection: Connection, revision: str) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None when it was never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(_revision_of)


def _revision_of(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return str(found[0]) if found else None


async def check_schema(engine: AsyncEngine) -> None:
    """Raise Unavailable unless the database's schema is exactly the revision this code needs."""
    check_revision(await current_revision(engine), engine.url.render_as_string(hide_password=True))
