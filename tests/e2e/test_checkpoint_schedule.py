"""The checkpoint schedule on the real dev server: ensured any number of times, it is one
schedule at the interval last set; under `concord dev` it publishes signed checkpoints."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleOverlapPolicy,
)
from temporalio.testing import WorkflowEnvironment

from audit.checkpoint import open_checkpoint
from audit.note import Verifier
from runtime.schedules import ensure_checkpoint_schedule
from tests.e2e.conftest import Stack
from tests.shutdown import stopped
from workflows.messages import CHECKPOINT_SCHEDULE_ID

pytestmark = pytest.mark.e2e


@pytest.fixture
async def client(dev_server: WorkflowEnvironment) -> AsyncIterator[Client]:
    """The dev server's client; the schedule is deleted afterwards, so it never starts runs
    for the other tests' server."""
    try:
        yield dev_server.client
    finally:
        schedule = dev_server.client.get_schedule_handle(CHECKPOINT_SCHEDULE_ID)
        await stopped(f"the schedule {CHECKPOINT_SCHEDULE_ID}", schedule.delete())


async def described(client: Client) -> ScheduleDescription:
    return await client.get_schedule_handle(CHECKPOINT_SCHEDULE_ID).describe()


async def schedule_ids(client: Client) -> list[str]:
    """The ids of the schedules listed, once the checkpoint schedule is visible (listing reads
    visibility, which follows a creation within moments)."""
    for _ in range(100):
        ids = [listed.id async for listed in await client.list_schedules()]
        if CHECKPOINT_SCHEDULE_ID in ids:
            return ids
        await asyncio.sleep(0.1)
    raise AssertionError(f"{CHECKPOINT_SCHEDULE_ID} is never listed")


async def test_ensuring_the_schedule_twice_keeps_one_schedule_at_the_interval_set(
    client: Client,
) -> None:
    task_queue = f"concord-e2e-{uuid.uuid4().hex[:8]}"

    await ensure_checkpoint_schedule(client, task_queue, timedelta(hours=1))
    before = await described(client)
    await ensure_checkpoint_schedule(client, task_queue, timedelta(hours=1))

    after = await described(client)
    assert [interval.every for interval in after.schedule.spec.intervals] == [timedelta(hours=1)]
    action = after.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == ("CheckpointWorkflow", task_queue)
    assert after.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert after.info.last_updated_at == before.info.last_updated_at  # left as it was
    assert (await schedule_ids(client)).count(CHECKPOINT_SCHEDULE_ID) == 1


async def test_ensuring_the_schedule_with_another_interval_updates_it_and_keeps_it_paused(
    client: Client,
) -> None:
    task_queue = f"concord-e2e-{uuid.uuid4().hex[:8]}"
    handle = await ensure_checkpoint_schedule(client, task_queue, timedelta(hours=1))
    await handle.pause(note="paused by an operator")
    before = await described(client)

    await ensure_checkpoint_schedule(client, task_queue, timedelta(minutes=5))

    after = await described(client)
    assert after.info.last_updated_at != before.info.last_updated_at
    assert [interval.every for interval in after.schedule.spec.intervals] == [timedelta(minutes=5)]
    assert after.schedule.state.paused
    assert (await schedule_ids(client)).count(CHECKPOINT_SCHEDULE_ID) == 1


@pytest.mark.slow
def test_concord_dev_publishes_a_signed_checkpoint_of_the_log_on_its_schedule(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path / "concord-dev")
    stack.env["CONCORD_CHECKPOINT_INTERVAL_SECONDS"] = "10"
    stack.data_dir.mkdir(parents=True)
    assert stack.concord("audit", "keygen").returncode == 0
    verifier = Verifier.parse(stack.concord("audit", "pubkey").stdout)
    stack.start()
    try:
        stack.proposed("d-checkpointed")
        deadline = time.monotonic() + 60
        while not (kept := stack.ok("audit", "checkpoints")["checkpoints"]):
            assert time.monotonic() < deadline, "no checkpoint was published"
            time.sleep(0.5)
        latest = stack.concord("audit", "checkpoints", "--latest")
    finally:
        assert stack.stop() == 0
    assert stack.leftovers() == []

    checkpoint = open_checkpoint(latest.stdout, verifier, "concord.local/log")
    assert (checkpoint.size, checkpoint.root.hex()) == (kept[-1]["size"], kept[-1]["root"])
    assert checkpoint.size >= 1


async def test_concord_audit_schedule_creates_it_for_a_deployment(client: Client) -> None:
    import os
    import subprocess

    from tests.e2e.conftest import CONCORD

    env = {
        **os.environ,
        "CONCORD_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "CONCORD_TASK_QUEUE": "concord-deployed",
        "CONCORD_CHECKPOINT_INTERVAL_SECONDS": "600",
    }
    for _ in range(2):  # a one-shot service may run again: still one schedule
        done = await asyncio.to_thread(
            subprocess.run,
            [CONCORD, "audit", "schedule"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    description = await described(client)
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.task_queue == "concord-deployed"
    assert description.schedule.spec.intervals[0].every == timedelta(seconds=600)
