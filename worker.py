"""Runs the Temporal worker of Concord's decision workflows until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.events import EventActivities
from activities.notify import LogNotifier, Notifier, NotifyActivities
from domain.errors import ConcordError
from store.eventstore import EventStore, open_store
from store.projections import ProjectionRunner
from store.read_models import DecisionsProjection
from workflows.decision import DecisionWorkflow

STICKY_TIMEOUT = timedelta(seconds=2)
"""A decision's next task waits this long for the worker that holds it in its cache before any
worker takes it: a killed worker costs a command seconds, a live one answers in milliseconds."""

PASSTHROUGH = ("pydantic", "pydantic_core", "annotated_types", "domain", "workflows.messages")
"""Pure modules the sandbox may share between runs instead of re-importing them for each."""

log = structlog.get_logger(__name__)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


def build_worker(
    client: Client,
    store: EventStore,
    task_queue: str,
    notifier: Notifier | None = None,
) -> Worker:
    """A worker for the decision workflow and its activities, wired to `store`."""
    events = EventActivities(store, client)
    notify = NotifyActivities(notifier or LogNotifier())
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[DecisionWorkflow],
        activities=[events.append_events, events.archive_history, notify.notify],
        workflow_runner=workflow_runner(),
        max_concurrent_activities=50,
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    )


async def run_worker(
    address: str,
    namespace: str,
    task_queue: str,
    database_url: str,
    stop: asyncio.Event | None = None,
) -> None:
    """Run a worker until `stop` is set or the process receives SIGTERM or SIGINT."""
    from runtime.temporal import connect

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    client = await connect(address, namespace)
    store = await open_store(database_url)
    projecting = asyncio.create_task(ProjectionRunner(store, [DecisionsProjection()]).follow())
    try:
        worker = build_worker(client, store, task_queue)
        async with worker:
            log.info("worker running", task_queue=task_queue, temporal=address)
            await stop.wait()
            log.info("worker stopping")
    finally:
        projecting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await projecting
        await store.close()


def main() -> None:
    from runtime.logging import configure_logging
    from runtime.process import leave
    from runtime.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_format)
    try:
        asyncio.run(
            run_worker(
                settings.temporal_address,
                settings.temporal_namespace,
                settings.task_queue,
                settings.database_url,
            )
        )
    except ConcordError as error:
        log.error("worker cannot run", error=error.message)
        leave(1)
    log.info("worker stopped")
    leave(0)


if __name__ == "__main__":
    main()
