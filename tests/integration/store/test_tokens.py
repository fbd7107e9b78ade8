"""A presented token is read from the store at every request, on each backend: it stands for its
record only with its own secret, and a revocation made anywhere (another process's store) is
refused at the next request, never remembered past it. On SQLite the read is made on the event
loop's own thread, and never holds the loop while another connection has the file locked."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.errors import Unauthenticated
from store.eventstore import EventStore, open_store
from tests.integration.store.conftest import sqlite_url


async def test_a_presented_token_stands_for_its_record_and_nothing_else_does(
    store: EventStore,
) -> None:
    record, token = await store.tokens.issue("member", "USA", "operator:secretariat", None)
    other, _ = await store.tokens.issue("auditor", "court", "operator:secretariat", None)

    assert await store.tokens.presented(token) == record
    assert await store.tokens.usable(record.token_id) == record
    token_id, secret = token.removeprefix("concord_").split("_", 1)
    changed = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    forged = (
        f"concord_{token_id}_{changed}",  # its id, its secret with one character changed
        f"concord_{other.token_id}_{secret}",  # another token's id with this secret
        f"concord_{'0' * 16}_{secret}",  # an id nobody was given
        token.upper(),
        "",
    )
    for presented in forged:
        with pytest.raises(Unauthenticated, match="not one Concord issued"):
            await store.tokens.presented(presented)
    with pytest.raises(Unauthenticated, match="unknown"):
        await store.tokens.usable("0" * 16)


async def test_a_token_revoked_by_another_process_is_refused_at_its_next_request(
    store: EventStore, store_url: str
) -> None:
    record, token = await store.tokens.issue("member", "RUS", "operator:secretariat", None)
    assert (await store.tokens.presented(token)).revoked_at is None  # read, and would be kept

    elsewhere = await open_store(store_url)  # the CLI's `concord tokens revoke`
    try:
        await elsewhere.tokens.revoke(record.token_id, "operator:secretariat")
    finally:
        await elsewhere.close()

    with pytest.raises(Unauthenticated, match=f"{record.token_id} was revoked"):
        await store.tokens.presented(token)
    with pytest.raises(Unauthenticated, match=f"{record.token_id} was revoked"):
        await store.tokens.usable(record.token_id)


async def test_an_expired_token_is_refused(store: EventStore) -> None:
    soon = datetime.now(UTC) - timedelta(seconds=1)
    record, token = await store.tokens.issue("member", "FRA", "operator:secretariat", soon)

    with pytest.raises(Unauthenticated, match=f"{record.token_id} has expired"):
        await store.tokens.presented(token)


async def test_a_token_read_waits_for_a_locked_file_without_holding_the_event_loop(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "concord.db"
    shutil.copyfile(sqlite_template, path)
    issuer = await open_store(sqlite_url(path))  # `concord tokens issue`, a process of its own
    try:
        record, token = await issuer.tokens.issue("member", "NLD", "operator:secretariat", None)
    finally:
        await issuer.close()
    # Another process takes the file for itself (in WAL mode, only exclusive locking keeps
    # readers out) before the API's first read, and gives it back half a second later.
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    store = await open_store(sqlite_url(path), check_schema=False)
    try:
        asyncio.get_running_loop().call_later(0.5, holder.close)
        ticks = 0

        async def ticking() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(ticking())
        started = time.monotonic()
        assert await store.tokens.presented(token) == record
        waited = time.monotonic() - started
        ticker.cancel()

        assert waited >= 0.4, "the read did not wait for the lock"
        assert ticks >= waited / 0.01 / 2, f"the loop ran {ticks} times in {waited:.2f} s"
        assert await store.tokens.presented(token) == record  # on the loop's connection now
    finally:
        holder.close()
        await store.close()
