"""Async engines for the store: SQLite in WAL mode with immediate write locks, or PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Insert, Table, event
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from domain.errors import InvalidInput
from store.urls import SUPPORTED_DRIVERS

WRITE_OPTION: Final = "concord_write"
"""Execution option of a writing transaction: on SQLite it takes the write lock at BEGIN."""

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
POSTGRES_CONNECT_TIMEOUT_S: Final = 2
"""A connection attempt to a server that is down or restarting gives up within an append's
own timeout, so the attempt fails and is retried instead of hanging."""

SQLITE_PRAGMAS: Final = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    # Checkpoint every ~40 MB of WAL, not 4 MB: random event-id index pages written by many
    # commits are then copied back once; appends run about 30% faster.
    "PRAGMA wal_autocheckpoint=10000",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
)
"""Every SQLite connection's settings: readers never block the writer, commits are durable."""


def parse_database_url(url: str) -> URL:
    """The URL, if it names a backend the store runs on; else InvalidInput naming the field."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput("database_url", f"not a database URL: {url!r}") from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise InvalidInput(
            "database_url",
            f"unsupported driver {parsed.drivername!r}; use one of {', '.join(SUPPORTED_DRIVERS)}",
        )
    if parsed.drivername.startswith("sqlite") and parsed.database in (None, "", ":memory:"):
        raise InvalidInput(
            "database_url", "SQLite needs a file path, e.g. sqlite+aiosqlite:///x.db"
        )
    return parsed


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL, None for PostgreSQL."""
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def create_store_engine(url: str | URL) -> AsyncEngine:
    """An engine on a supported database, configured for the store's locking and durability."""
    parsed = parse_database_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(parsed)
        _configure_sqlite(engine)
        return engine
    # A restarted server leaves every pooled connection dead: each is checked as it is taken
    # out (one round trip) and replaced, so a restart costs an append one retry, not several.
    return create_async_engine(
        parsed,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"timeout": POSTGRES_CONNECT_TIMEOUT_S},
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    # The driver's own implicit BEGIN is turned off so that we choose the kind of BEGIN: a
    # writer takes the lock up front (BEGIN IMMEDIATE) instead of failing to upgrade later.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def insert_unless_present(
    dialect_name: str, table: Table, key: Sequence[str], values: Mapping[str, Any]
) -> Insert:
    """An INSERT of `values` that does nothing when a row with the same `key` exists."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return (
            postgresql_insert(table)
            .values(dict(values))
            .on_conflict_do_nothing(index_elements=list(key))
        )
    return (
        sqlite_insert(table).values(dict(values)).on_conflict_do_nothing(index_elements=list(key))
    )


def url_without_password(url: str) -> str:
    """The database URL as it may be shown: its password, if any, as ***."""
    return make_url(url).render_as_string(hide_password=True)


def url_with_password(url: str, password: str) -> str:
    """The database URL with `password` set; ValueError when it holds a password already."""
    parsed = make_url(url)
    if parsed.password is not None:
        raise ValueError("the database URL holds a password already")
    return parsed.set(password=password).render_as_string(hide_password=False)
