"""Event stores for tests that run the whole stack: a migrated, empty store on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from store.migrate import upgrade
from tests.pg import throwaway_database


@asynccontextmanager
async def migrated_store(backend: str, workdir: Path, prefix: str) -> AsyncIterator[str]:
    """The URL of a migrated, empty event store on `backend` ("sqlite": a file in `workdir`;
    "postgres": a throwaway database named after `prefix`, dropped afterwards)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'concord.db'}"
        await upgrade(url)
        yield url
        return
    async with throwaway_database(prefix) as url:
        await upgrade(url)
        yield url
