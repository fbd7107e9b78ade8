"""The composition root: how Concord's parts are wired, for every entry point and the tests.

`worker.py`, `concord dev`, `concord demo`, `concord project` and the test fixtures build their
worker, store, client and read-model projector here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxRestrictions

from activities.addresses import AddressPolicy, system_resolver
from activities.archivist import Archivist
from activities.checkpoints import CheckpointActivities
from activities.deliver import DecisionActivities
from activities.events import EventActivities
from activities.meetings import ExtraordinarySittings, MeetingActivities
from activities.notify import LogNotifier, Notifications, Notifier, NotifyActivities
from activities.webhooks import FanOutActivities, WebhookActivities, WebhookNotifier
from audit.cosigning import WitnessPolicy
from audit.tree import MerkleProjection
from domain.errors import InvalidInput, Unavailable
from runtime import payload_visits
from runtime.decisions import DecisionClient
from runtime.devserver import DevServer
from runtime.meetings import sync_meeting_schedules
from runtime.metrics import serve_projector_metrics
from runtime.process import stop_on_signals
from runtime.sandbox import ConcordSandbox
from runtime.schedules import AuditTreeSigner, ensure_checkpoint_schedule
from runtime.settings import Settings
from runtime.temporal import connect
from runtime.witnesses import witness_policy
from store.councils import Councils
from store.engine import url_without_password
from store.eventstore import EventStore, open_store
from store.leases import LeaseKeeper
from store.migrate import upgrade
from store.projections import Keeper, Projection, ProjectionRunner
from store.read_models import DecisionsProjection
from store.webhook_secrets import WebhookSecrets
from workflows.checkpoints import CheckpointWorkflow
from workflows.decision import SEARCH_ATTRIBUTES, DecisionWorkflow
from workflows.meeting import MeetingWorkflow
from workflows.supersession import SupersessionWorkflow
from workflows.webhooks import WebhookDeliveryWorkflow, WebhookFanOutWorkflow

log = structlog.get_logger(__name__)

STICKY_TIMEOUT: Final = timedelta(seconds=2)
"""A decision's next task waits this long for the worker that holds it in its cache before any
worker takes it: a killed worker costs a command seconds, a live one answers in milliseconds."""

PASSTHROUGH: Final = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "domain",
    "workflows.messages",
    "workflows.failures",
)
"""Pure modules the sandbox may share between runs instead of re-importing them for each."""

UI_PORT_OFFSET: Final = 1000
"""The Web UI listens on the frontend's port + 1000 (7233 → 8233), as the dev server does."""
PROJECTION_INTERVAL_S: Final = 0.5
PROJECTOR_LEASE: Final = "projector"
TREE_BATCH: Final = 5_000
"""Events the Merkle tree takes per transaction: it reads and hashes them outside the write
lock, so a large batch costs appends one short commit instead of ten."""


def workflow_runner() -> ConcordSandbox:
    """The sandbox decisions run in, for the worker, the recorded histories' replays and the
    benchmarks' sandboxed bare shape."""
    return ConcordSandbox(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


@dataclass(frozen=True)
class WorkerOptions:
    """How much one worker takes on at once; from settings in production, defaults in tests."""

    max_concurrent_activities: int = 50
    max_concurrent_workflow_tasks: int | None = None
    max_cached_workflows: int = 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> WorkerOptions:
        return cls(
            max_concurrent_activities=settings.worker_max_concurrent_activities,
            max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
            max_cached_workflows=settings.worker_max_cached_workflows,
        )


def build_worker(
    client: Client,
    store: EventStore,
    task_queue: str,
    notifier: Notifier | None = None,
    options: WorkerOptions | None = None,
    *,
    signing_key_file: Path | None = None,
    log_origin: str | None = None,
    witnesses: WitnessPolicy | None = None,
    webhooks: WebhookActivities | None = None,
) -> Worker:
    """A worker for Concord's workflows and their activities, wired to `store`; the notable
    events of runs started before the projector told people go to `notifier` (the log by
    default) and to the webhooks they concern; deliveries are made by `webhooks` (by default:
    secrets sealed under a key of this process alone, global addresses only, the system's
    resolver); checkpoints are signed with the key in `signing_key_file`
    (none without it) for `log_origin`, and submitted to the `witnesses` of the policy."""
    events = EventActivities(store, client)
    notify = NotifyActivities(*notifiers(client, store, task_queue, notifier))
    webhooks = webhooks or WebhookActivities(
        store, WebhookSecrets.ephemeral(), AddressPolicy(), system_resolver
    )
    fan_out = FanOutActivities(WebhookNotifier(client, store, task_queue))
    client_of_decisions = DecisionClient(client, task_queue, rosters=Councils(store).roster_book)
    decisions = DecisionActivities(store, client_of_decisions.deliver)
    meetings = MeetingActivities(store, client_of_decisions.execute)
    checkpoints = CheckpointActivities(
        store,
        signing_key_file,
        log_origin or Settings.model_fields["log_origin"].default,
        AuditTreeSigner(witnesses),
    )
    options = options or WorkerOptions()
    payload_visits.install()
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[
            DecisionWorkflow,
            SupersessionWorkflow,
            WebhookFanOutWorkflow,
            WebhookDeliveryWorkflow,
            CheckpointWorkflow,
            MeetingWorkflow,
        ],
        activities=[
            events.append_events,
            events.archive_history,
            notify.notify,
            decisions.read_decision,
            decisions.deliver_command,
            meetings.convene_sitting,
            meetings.plan_extraordinary_sitting,
            meetings.schedule_agenda_item,
            webhooks.deliver_webhook,
            fan_out.fan_out_webhooks,
            checkpoints.publish_checkpoint,
        ],
        workflow_runner=workflow_runner(),
        max_concurrent_activities=options.max_concurrent_activities,
        max_concurrent_workflow_tasks=options.max_concurrent_workflow_tasks,
        max_cached_workflows=options.max_cached_workflows,
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    )


async def webhook_deliveries(settings: Settings, store: EventStore) -> WebhookActivities:
    """Webhook deliveries as the settings say: secrets opened with the installation's key (made
    on first use), the networks it allows, the system's resolver. Secrets still kept as they
    were before secrets were sealed are sealed now (by whichever worker starts first)."""
    secrets = WebhookSecrets.from_file(settings.webhook_secrets_key_file)
    sealed = await store.webhooks.seal_secrets(secrets)
    if sealed:
        log.info("webhook secrets sealed", webhooks=sealed)
    return WebhookActivities(
        store, secrets, AddressPolicy(settings.webhook_allowed_networks), system_resolver
    )


def notifiers(
    client: Client, store: EventStore, task_queue: str, notifier: Notifier | None = None
) -> tuple[Notifier, ...]:
    """The channels people are told through: `notifier` (the log by default), the webhooks
    each event concerns, and the extraordinary sittings requests ask for."""
    return (
        notifier or LogNotifier(),
        WebhookNotifier(client, store, task_queue),
        ExtraordinarySittings(client, task_queue),
    )


def projector(
    store: EventStore,
    client: Client | None = None,
    task_queue: str | None = None,
    notifier: Notifier | None = None,
) -> ProjectionRunner:
    """The read models' follower (and the log's Merkle tree): one per deployment, never one
    per worker. With a Temporal `client`, it also tells people of the log's notable events
    (activities.notify), starting what they call for on `task_queue`, and archives the run each
    decision closes in (activities.archivist)."""
    kept: list[Projection | Keeper] = [
        DecisionsProjection(),
        MerkleProjection(batch_size=TREE_BATCH),
    ]
    if client is not None:
        queue = task_queue or Settings.model_fields["task_queue"].default
        kept.append(Notifications(*notifiers(client, store, queue, notifier)))
        kept.append(Archivist(client))
    return ProjectionRunner(store, kept)


@contextlib.asynccontextmanager
async def opened_store(settings: Settings) -> AsyncIterator[EventStore]:
    store = await open_store(settings.database_url)
    try:
        yield store
    finally:
        await store.close()


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run a worker until `stop` is set or the process receives SIGTERM or SIGINT."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    client = await connect(
        settings.temporal_address, settings.temporal_namespace, settings.metrics_port
    )
    async with opened_store(settings) as store:
        webhooks = await webhook_deliveries(settings, store)
        async with build_worker(
            client,
            store,
            settings.task_queue,
            options=WorkerOptions.from_settings(settings),
            signing_key_file=settings.signing_key_file,
            log_origin=settings.log_origin,
            witnesses=witness_policy(settings),
            webhooks=webhooks,
        ):
            log.info(
                "worker running",
                task_queue=settings.task_queue,
                temporal=settings.temporal_address,
            )
            await stop.wait()
            log.info("worker stopping")


async def run_projector(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Keep the read models current, and tell people of notable events, until `stop` is set or
    SIGTERM or SIGINT arrives."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    # Lazily: the read models need no Temporal; the notifications wait for it to answer.
    client = await connect(settings.temporal_address, settings.temporal_namespace, lazy=True)
    async with (
        opened_store(settings) as store,
        following(projector(store, client, settings.task_queue), projector_lease(store)) as runner,
    ):
        database = url_without_password(settings.database_url)
        watching = None
        if settings.metrics_port is not None:
            watching = asyncio.create_task(serve_projector_metrics(runner, settings.metrics_port))
        log.info("projector running", database=database)
        await stop.wait()
        if watching is not None:
            watching.cancel()
        log.info("projector stopping")


@contextlib.asynccontextmanager
async def following(
    runner: ProjectionRunner, lease: LeaseKeeper | None = None
) -> AsyncIterator[ProjectionRunner]:
    """The runner following the log in the background (while it holds `lease`, if given: the
    projector's); caught up once more on the way out, and the lease given up for a standby."""
    task = asyncio.create_task(runner.follow(PROJECTION_INTERVAL_S, lease))
    try:
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if lease is None or lease.holding:
            await runner.catch_up_each()
        if lease is not None:
            with contextlib.suppress(Unavailable):
                await lease.release()


def projector_lease(store: EventStore) -> LeaseKeeper:
    """This process's side of the projector's lease: one projector follows the log, any other
    stands by and takes over within seconds of the active one's last heartbeat."""
    return LeaseKeeper(store.leases, PROJECTOR_LEASE)


@dataclass
class Stack:
    """Everything the embedded stack runs, for the command that started it."""

    settings: Settings
    server: DevServer
    store: EventStore
    decisions: DecisionClient
    projections: ProjectionRunner


def host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    host = "127.0.0.1" if host in ("localhost", "") else host
    if not port.isdigit():
        raise InvalidInput("CONCORD_TEMPORAL_ADDRESS", f"{address!r} is not host:port")
    return host, int(port)


@contextlib.asynccontextmanager
async def embedded_stack(
    settings: Settings, search_attributes: Sequence[str] | None = None
) -> AsyncIterator[Stack]:
    """Temporal's dev server, the migrated store, a worker and the projector on this machine;
    all of it stopped on the way out."""
    host, port = host_port(settings.temporal_address)
    server = DevServer(
        settings.data_dir / "temporal",
        host,
        port,
        port + UI_PORT_OFFSET,
        settings.temporal_namespace,
        search_attributes or [key.name for key in SEARCH_ATTRIBUTES],
    )
    server.start()
    try:
        await server.wait_ready()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade(settings.database_url)
        async with opened_store(settings) as store:
            client = await connect(settings.temporal_address, settings.temporal_namespace)
            webhooks = await webhook_deliveries(settings, store)
            async with (
                following(
                    projector(store, client, settings.task_queue), projector_lease(store)
                ) as runner,
                build_worker(
                    client,
                    store,
                    settings.task_queue,
                    options=WorkerOptions.from_settings(settings),
                    signing_key_file=settings.signing_key_file,
                    log_origin=settings.log_origin,
                    witnesses=witness_policy(settings),
                    webhooks=webhooks,
                ),
            ):
                await ensure_checkpoint_schedule(
                    client,
                    settings.task_queue,
                    timedelta(seconds=settings.checkpoint_interval_seconds),
                )
                councils = Councils(store)
                await sync_meeting_schedules(client, await councils.in_force(), settings.task_queue)
                decisions = DecisionClient.configured(client, settings, councils.roster_book)
                yield Stack(settings, server, store, decisions, runner)
    finally:
        server.stop()
