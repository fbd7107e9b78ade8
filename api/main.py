"""The API wired to Concord's parts: for `concord api` (alone, production) and `concord dev`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI
from prometheus_client import start_http_server

from api.app import create_app
from api.limits import Limits
from api.portal.sessions import portal_key
from api.server import EmbeddedServer, serving
from api.services import Services
from audit.keys import KeyBook
from audit.note import Signer
from runtime.access import Tokens
from runtime.bootstrap import opened_store
from runtime.commands import Commands
from runtime.decisions import DecisionClient
from runtime.process import stop_on_signals
from runtime.settings import DEFAULT_ORIGIN, Settings
from runtime.temporal import connect
from runtime.webhooks import WebhookRegistration
from runtime.witnesses import witness_policy
from store.councils import Councils
from store.eventstore import EventStore

log = structlog.get_logger(__name__)


def api_app(
    decisions: DecisionClient,
    store: EventStore,
    limits: Limits | None = None,
    settings: Settings | None = None,
    webhooks: WebhookRegistration | None = None,
) -> FastAPI:
    """The API over a decisions client and an event store; refusals go to the store's log; with
    `settings` naming a log signing key that exists, it serves signed checkpoints too. Webhooks
    are registered by `webhooks` (by default, as the settings say)."""
    origin = settings.log_origin if settings is not None else DEFAULT_ORIGIN
    answers = KeyBook(store, origin).check_answer
    commands = Commands(decisions, store.refusals.record, store.decision_of_key, answers)
    if settings is None:
        found = Services(
            commands,
            store,
            Tokens(store),
            limits or Limits(),
            origin=origin,
            webhooks=webhooks or WebhookRegistration(),
        )
        return create_app(found)
    found = Services(
        commands,
        store,
        Tokens(store),
        limits or Limits(),
        origin=origin,
        portal_key=portal_key(settings.sessions_key_file),
        webhooks=webhooks or WebhookRegistration.from_settings(settings),
    )
    if settings.signing_key_file.exists():
        found.signer = Signer.parse(settings.signing_key_file.read_text())
    found.witnesses = witness_policy(settings)
    return create_app(found)


@contextlib.asynccontextmanager
async def api_serving(
    settings: Settings, decisions: DecisionClient, store: EventStore
) -> AsyncIterator[EmbeddedServer]:
    limits = Limits(requests_per_second=settings.api_requests_per_second, burst=settings.api_burst)
    app = api_app(decisions, store, limits, settings)
    if settings.api_metrics_port is not None:
        start_http_server(
            settings.api_metrics_port, addr=settings.api_host, registry=app.state.metrics.registry
        )
        app.state.metrics_elsewhere = True
    async with serving(app, settings.api_host, settings.api_port) as server:
        yield server


async def run_api(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve the API until `stop` is set or SIGTERM or SIGINT arrives."""
    stop = stop or asyncio.Event()
    stop_on_signals(stop)
    portal_key(settings.sessions_key_file)  # a key it cannot make or read: said before all else
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    async with opened_store(settings) as store:
        decisions = DecisionClient.configured(client, settings, Councils(store).roster_book)
        async with api_serving(settings, decisions, store):
            log.info("api running", address=f"http://{settings.api_host}:{settings.api_port}")
            await stop.wait()
            log.info("api stopping")
    log.info("api stopped")
