"""Appends cut short at any instant (a task cancelled, as an activity past its timeout is) leave
no transaction open on a pooled connection: later appends are neither blocked by its locks nor
run inside it, uncommitted."""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest

from audit.verify import verify_log
from domain.errors import Conflict
from store.eventstore import EventStore, open_store
from tests.integration.store.conftest import EventFactory

pytestmark = pytest.mark.postgres

CUT_SHORT = 300


async def test_appends_cancelled_at_random_instants_leave_the_log_free_and_every_append_durable(
    empty_postgres_url: str, new_event: EventFactory
) -> None:
    store: EventStore = await open_store(empty_postgres_url)
    rng = random.Random(7)
    try:
        for n in range(CUT_SHORT):
            decision = f"d-cut-{n}"
            appending = asyncio.ensure_future(store.append(decision, 0, [new_event(decision, 1)]))
            await asyncio.sleep(rng.uniform(0, 0.004))
            appending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Conflict):
                await appending
        # Every later append goes through at once, on whichever pooled connection it gets, and
        # is committed: another store (its own engine and connections) reads it.
        appended = []
        for n in range(20):
            decision = f"d-after-{n}"
            appended += await asyncio.wait_for(
                store.append(decision, 0, [new_event(decision, 1)]), timeout=5
            )
        other = await open_store(empty_postgres_url)
        try:
            for event in appended:
                [read] = await other.stream(event.decision_id)
                assert read.event_id == event.event_id
            assert (await verify_log(other)).ok
        finally:
            await other.close()
    finally:
        await store.close()
