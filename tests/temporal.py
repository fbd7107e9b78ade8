"""Temporal for tests: the servers come from the virtual environment's own binaries."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import temporalio.workflow
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.worker import Worker

from activities.archivist import Archivist
from activities.webhooks import WebhookActivities
from runtime.bootstrap import build_worker, following, projector
from store.eventstore import EventStore
from store.projections import ProjectionRunner
from tests.shutdown import bounded
from workflows.decision import SEARCH_ATTRIBUTES

BIN = Path(sys.executable).parent
DEV_SERVER = BIN / "temporal"
TEST_SERVER = BIN / "temporal-test-server"


def binary(path: Path) -> str:
    """The path of a Temporal binary the venv installed; fails clearly when it is missing."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `make install` to install it")
    return str(path)


SEARCH_ATTRIBUTE_KEYS: tuple[SearchAttributeKey[str], ...] = SEARCH_ATTRIBUTES


@asynccontextmanager
async def delivering(
    client: Client, store: EventStore, task_queue: str, webhooks: WebhookActivities
) -> AsyncIterator[Worker]:
    """A worker whose deliveries `webhooks` makes, beside the projector, which starts the
    deliveries of the log's notable events; both stopped, within bounds, on the way out."""
    async with (
        bounded(
            f"the worker on task queue {task_queue}",
            build_worker(client, store, task_queue, webhooks=webhooks),
        ) as running,
        bounded("the projector", following(projector(store, client, task_queue))),
    ):
        yield running


def code_before(patches: tuple[str, ...]) -> Callable[[str], bool]:
    """`workflow.patched` as code from before `patches` answered it: their old branch, and no
    marker recorded (what a worker built before them did)."""
    patched = temporalio.workflow.patched

    def old(patch_id: str) -> bool:
        return False if patch_id in patches else patched(patch_id)

    return old


async def archived_by_the_follower(client: Client, store: EventStore) -> int:
    """Have the log's follower (the projector's archivist) archive the last run of every
    decision closed since its last pass; how many runs it archived."""
    return await ProjectionRunner(store, [Archivist(client)]).catch_up()
