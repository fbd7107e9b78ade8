"""Fixtures: the time-skipping test server, a migrated SQLite store and a running worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from runtime.bootstrap import build_worker
from runtime.decisions import DecisionClient
from store.eventstore import EventStore, open_store
from tests.councils import testing_rosters
from tests.integration.workflows.council import Council
from tests.shutdown import bounded, stopped
from tests.stores import migrated_sqlite
from tests.temporal import TEST_SERVER, binary
from workflows.converter import DATA_CONVERTER


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server of the test's own: no other test's timers move its clock."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary(TEST_SERVER), data_converter=DATA_CONVERTER
    )
    address = environment.client.service_client.config.target_host
    try:
        yield environment
    finally:
        await stopped(f"the time-skipping test server at {address}", environment.shutdown())


@pytest.fixture
async def store_url(tmp_path: Path) -> str:
    """A migrated SQLite event store of the test's own."""
    return await migrated_sqlite(tmp_path / "concord.db")


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[EventStore]:
    event_store = await open_store(store_url)
    try:
        yield event_store
    finally:
        await stopped(f"the event store at {store_url}", event_store.close())


@pytest.fixture
def task_queue() -> str:
    return f"concord-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def worker(
    env: WorkflowEnvironment, store: EventStore, task_queue: str
) -> AsyncIterator[Worker]:
    async with bounded(
        f"the worker on task queue {task_queue}", build_worker(env.client, store, task_queue)
    ) as running:
        yield running


@pytest.fixture
def decisions(env: WorkflowEnvironment, task_queue: str, worker: Worker) -> DecisionClient:
    return DecisionClient(env.client, task_queue, search_attributes=False, rosters=testing_rosters)


@pytest.fixture
async def council(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> AsyncIterator[Council]:
    """One decision of its own, driven command by command; its workflow ended afterwards."""
    driver = Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")
    yield driver
    await stopped(f"decision {driver.decision_id}'s workflow", driver.end())


async def env_now(env: WorkflowEnvironment) -> datetime:
    return await env.get_current_time()
