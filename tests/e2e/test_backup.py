"""A backup of the event store, restored, is the same log: its chain and tree verify, and a
checkpoint taken before the backup is proved consistent with the restored copy (README:
"Backup and restore")."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.interop.test_transparency import Auditor, grow
from tests.pg import throwaway_database
from tests.stores import migrated_store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def libpq(url: str) -> str:
    """The SQLAlchemy URL of a PostgreSQL database as pg_dump and pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backed_up_sqlite(url: str, into: Path) -> str:
    """SQLite's online backup (a consistent copy while writers run); the copy's URL."""
    source = sqlite3.connect(make_url(url).database or "")
    copy = sqlite3.connect(into / "backup.db")
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    restored = into / "restored.db"
    shutil.copyfile(into / "backup.db", restored)
    return f"sqlite+aiosqlite:///{restored}"


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_restored_backup_verifies_and_extends_a_checkpoint_taken_before_it(
    backend: str, tmp_path: Path
) -> None:
    async with migrated_store(backend, tmp_path, "concord_backup") as url:
        await grow(url, "d-before")
        keys = Auditor(url, tmp_path)
        verifier_key = keys.ok("keygen").strip().splitlines()[-1]
        before = keys.file("before", "checkpoint")
        await grow(url, "d-after")

        if backend == "sqlite":
            restored = backed_up_sqlite(url, tmp_path)
            checked = await asyncio.to_thread(_verified, restored, tmp_path, before)
        else:
            dump = tmp_path / "concord.dump"
            subprocess.run(
                ["pg_dump", "--format=custom", "--file", str(dump), libpq(url)],
                check=True,
                capture_output=True,
                timeout=120,
            )
            async with throwaway_database("concord_restored") as restored:
                subprocess.run(
                    ["pg_restore", "--no-owner", "--dbname", libpq(restored), str(dump)],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
                checked = await asyncio.to_thread(_verified, restored, tmp_path, before)

    report, pubkey = checked
    assert report["ok"], report
    assert "extends the checkpoint" in report["checkpoint"], report
    assert pubkey == verifier_key


def _verified(url: str, home: Path, checkpoint: Path) -> tuple[dict[str, Any], str]:
    """`concord audit verify --checkpoint` on the copy at `url`, with the log's key."""
    auditor = Auditor(url, home)
    report = json.loads(auditor.ok("verify", "--checkpoint", str(checkpoint), "--json"))
    return report, auditor.ok("pubkey").strip()
