"""Event stores for tests that run the whole stack: a migrated, empty store on each backend."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from store.migrate import upgrade
from tests.pg import throwaway_database

_migrated_once: list[Path] = []


async def migrated_sqlite(path: Path) -> str:
    """The URL of a migrated, empty SQLite event store at `path`: a copy of one this test
    process migrated once (migrating takes a few tenths of a second, copying a millisecond; the
    migrations' own tests, tests/integration/store/test_migrations.py, migrate for real)."""
    if not _migrated_once:
        folder = Path(tempfile.mkdtemp(prefix="concord-migrated-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        await upgrade(f"sqlite+aiosqlite:///{folder / 'concord.db'}")
        _migrated_once.append(folder / "concord.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_migrated_once[0], path)
    return f"sqlite+aiosqlite:///{path}"


@asynccontextmanager
async def migrated_store(backend: str, workdir: Path, prefix: str) -> AsyncIterator[str]:
    """The URL of a migrated, empty event store on `backend` ("sqlite": a file in `workdir`;
    "postgres": a throwaway database named after `prefix`, dropped afterwards)."""
    if backend == "sqlite":
        yield await migrated_sqlite(workdir / "concord.db")
        return
    async with throwaway_database(prefix) as url:
        await upgrade(url)
        yield url
