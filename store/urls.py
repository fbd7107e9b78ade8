"""The database URLs the store runs on, read without SQLAlchemy (the settings check them, and
the CLI finds a SQLite store's file in them, before anything imports it)."""

from __future__ import annotations

from pathlib import Path
from typing import Final
from urllib.parse import unquote

SUPPORTED_DRIVERS: Final = ("sqlite+aiosqlite", "postgresql+asyncpg")
SQLITE_URL: Final = "sqlite+aiosqlite:///"
"""A SQLite store's URL up to its file's path (absolute when a fourth slash follows)."""


def sqlite_file(url: str) -> Path | None:
    """The file a plain SQLite URL names (`sqlite+aiosqlite:///path`, no query string); None for
    any other URL: the store opens those, and judges them (store.engine.parse_database_url)."""
    if not url.startswith(SQLITE_URL) or "?" in url:
        return None
    database = unquote(url.removeprefix(SQLITE_URL))
    return Path(database) if database and database != ":memory:" else None
