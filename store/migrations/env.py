"""Alembic environment: migrates on a connection handed over by store.migrate, or on a URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from store.engine import create_store_engine, parse_database_url, sqlite_path
from store.schema import metadata

config = context.config


def _run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_url(url: str) -> None:
    path = sqlite_path(parse_database_url(url))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_on)
    finally:
        await engine.dispose()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or context.get_x_argument(
        as_dictionary=True
    ).get("url")
    if not url:
        raise SystemExit("give the database URL: alembic -x url=... (or run `concord db upgrade`)")
    return url


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (handed_over := config.attributes.get("connection")) is not None:
    _run_on(handed_over)
else:
    asyncio.run(_run_on_url(_url()))
