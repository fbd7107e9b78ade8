"""A presented token is read from the store at every request, on each backend: it stands for its
record only with its own secret, and a revocation made anywhere (another process's store) is
refused at the next request, never remembered past it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Unauthenticated
from store.eventstore import EventStore, open_store


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
