"""Webhooks on the real test server: a delegation's endpoint is told, signed, of the round it
must answer; an endpoint that is down is retried until it answers, and the decision never
waits for it. The endpoints listen on this machine's loopback, which the installation of these
tests allows (CONCORD_WEBHOOK_ALLOW_NETWORKS=127.0.0.0/8): by default it is refused."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.addresses import AddressPolicy, parse_networks
from activities.notify import NOTIFICATIONS
from activities.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    WebhookActivities,
    WebhookNotifier,
    signature_holds,
)
from domain.events import Event
from runtime.bootstrap import projector
from store.decision_events import domain_event
from store.eventstore import EventStore
from store.records import event_id_for
from store.webhook_secrets import WebhookSecrets
from store.webhooks import DeliveryRecord
from tests.integration.workflows.council import Council
from tests.temporal import delivering
from workflows.messages import webhook_delivery_id


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass
class Receiver:
    """A delegation's HTTP endpoint on this machine: keeps what it is sent, answers `status`."""

    base: str = ""
    status: int = 200
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def requests(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.received if path is None or r.path == path]

    async def until(self, holds: Callable[[list[Received]], bool], path: str) -> list[Received]:
        """What `path` received once `holds` is true of it (within 30 s)."""
        deadline = time.monotonic() + 30
        while not holds(received := self.requests(path)):
            assert time.monotonic() < deadline, f"{path} received only {received}"
            await asyncio.sleep(0.05)
        return received


def handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                status = receiver.status
                receiver.received.append(Received(self.path, dict(self.headers), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(found))
    found.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def secrets() -> WebhookSecrets:
    return WebhookSecrets.ephemeral()


async def no_names(host: str, port: int) -> list[Any]:
    raise OSError(f"these tests resolve no name ({host})")


@pytest.fixture
async def worker(
    env: WorkflowEnvironment, store: EventStore, task_queue: str, secrets: WebhookSecrets
) -> AsyncIterator[Worker]:
    """A worker whose webhooks may reach this machine's loopback, as an installation allows, and
    the projector, which tells the webhooks of the log's notable events."""
    webhooks = WebhookActivities(
        store, secrets, AddressPolicy(parse_networks("127.0.0.0/8")), no_names
    )
    async with delivering(env.client, store, task_queue, webhooks) as running:
        yield running


async def opened_round(council: Council) -> tuple[int, Event]:
    """A round opened on the decision; its number and its ConsensusRoundOpened event."""
    await council.forwarded()
    number = await council.round_open()
    [opened] = [
        domain_event(e)
        for e in await council.store.stream(council.decision_id)
        if e.type == "ConsensusRoundOpened"
    ]
    return number, opened


async def delivered(store: EventStore, delivery_id: str) -> DeliveryRecord:
    """The delivery's row once it shows the delivery (within 30 s)."""
    deadline = time.monotonic() + 30
    while (
        record := await store.webhooks.delivery(delivery_id)
    ) is None or record.delivered_at is None:
        assert time.monotonic() < deadline, f"{delivery_id} never delivered: {record}"
        await asyncio.sleep(0.05)
    return record


async def test_a_round_opened_reaches_the_delegations_endpoint_signed_with_its_secret(
    council: Council,
    store: EventStore,
    receiver: Receiver,
    worker: Worker,
    secrets: WebhookSecrets,
) -> None:
    body, body_secret = await store.webhooks.register(
        "member:PC", receiver.url("/pc"), "operator:test", secrets
    )
    rus, secret = await store.webhooks.register(
        "member:RUS", receiver.url("/rus"), "operator:test", secrets
    )

    _, opened = await opened_round(council)

    [request] = await receiver.until(lambda r: len(r) == 1, "/rus")
    event_id = event_id_for(council.decision_id, opened.stream_version)
    delivery_id = webhook_delivery_id(rus.webhook_id, event_id)
    assert request.headers[DELIVERY_HEADER] == delivery_id
    assert signature_holds(
        secret, request.headers[SIGNATURE_HEADER], request.body, int(time.time())
    )
    assert not signature_holds(body_secret, request.headers[SIGNATURE_HEADER], request.body, 0)
    document = request.document
    assert document["id"] == delivery_id
    assert document["type"] == "ConsensusRoundOpened"
    assert document["decision_id"] == council.decision_id
    assert "RUS" in document["event"]["members"]
    assert document["event"] == json.loads(opened.model_dump_json())
    record = await delivered(store, delivery_id)
    assert (record.attempts, record.last_status, record.event_type) == (
        1,
        "200",
        "ConsensusRoundOpened",
    )
    # The Preparatory Committee answers no round: its endpoint was not called.
    assert receiver.requests("/pc") == []
    assert await store.webhooks.deliveries(body.webhook_id) == []


async def test_an_endpoint_that_is_down_is_retried_until_it_answers_while_the_round_goes_on(
    council: Council,
    store: EventStore,
    receiver: Receiver,
    worker: Worker,
    secrets: WebhookSecrets,
) -> None:
    receiver.status = 503
    rus, secret = await store.webhooks.register(
        "member:RUS", receiver.url("/rus"), "operator:test", secrets
    )

    number, opened = await opened_round(council)
    delivery_id = webhook_delivery_id(
        rus.webhook_id, event_id_for(council.decision_id, opened.stream_version)
    )
    await receiver.until(lambda r: len(r) >= 2, "/rus")

    # The endpoint still refuses: the decision answers its delegations all the same.
    text_hash = (await council.state()).round(number).text_hash
    receipt = await council.do("concur", "USA", round=number, text_hash=text_hash)
    assert receipt.event_types == ("ConcurrenceRecorded",)
    failing = await store.webhooks.delivery(delivery_id)
    assert failing is not None and failing.delivered_at is None
    assert failing.attempts >= 2 and failing.last_status == "503"
    assert all(r.answered == 503 for r in receiver.requests("/rus"))

    receiver.status = 200
    record = await delivered(store, delivery_id)

    attempts = receiver.requests("/rus")
    assert [r.answered for r in attempts] == [503] * (len(attempts) - 1) + [200]
    assert record.attempts == len(attempts) >= 3
    assert record.last_status == "200"
    assert {r.headers[DELIVERY_HEADER] for r in attempts} == {delivery_id}
    assert all(
        signature_holds(secret, r.headers[SIGNATURE_HEADER], r.body, int(time.time()))
        for r in attempts
    )


async def test_an_event_notified_again_is_not_delivered_twice(
    council: Council,
    store: EventStore,
    receiver: Receiver,
    env: WorkflowEnvironment,
    worker: Worker,
    task_queue: str,
    secrets: WebhookSecrets,
) -> None:
    rus, _ = await store.webhooks.register(
        "member:RUS", receiver.url("/rus"), "operator:test", secrets
    )
    _, opened = await opened_round(council)
    delivery_id = webhook_delivery_id(
        rus.webhook_id, event_id_for(council.decision_id, opened.stream_version)
    )
    await delivered(store, delivery_id)

    # What a notification told again does: the same event, to the same webhooks, again.
    await WebhookNotifier(env.client, store, task_queue).send(council.decision_id, opened)
    # And a projector that died after telling, before its position moved: its successor
    # tells the whole log again from where the position was left.
    told = await store.projections.position(NOTIFICATIONS)
    assert told >= opened.stream_version
    assert await store.projections.advance(NOTIFICATIONS, told, 0, [])
    await projector(store, env.client, task_queue).catch_up()

    await asyncio.sleep(1)
    assert await store.projections.position(NOTIFICATIONS) == (await store.head())[0]
    assert len(receiver.requests("/rus")) == 1
    record = await store.webhooks.delivery(delivery_id)
    assert record is not None and record.attempts == 1


async def test_a_removed_webhook_is_told_nothing_more(
    council: Council,
    store: EventStore,
    receiver: Receiver,
    worker: Worker,
    secrets: WebhookSecrets,
) -> None:
    rus, _ = await store.webhooks.register(
        "member:RUS", receiver.url("/rus"), "operator:test", secrets
    )
    removed = await store.webhooks.remove(rus.webhook_id)
    operator, _ = await store.webhooks.register(
        "operator:secretariat", receiver.url("/secretariat"), "operator:test", secrets
    )

    _, opened = await opened_round(council)

    await delivered(
        store,
        webhook_delivery_id(
            operator.webhook_id, event_id_for(council.decision_id, opened.stream_version)
        ),
    )
    assert removed.disabled_at is not None
    assert receiver.requests("/rus") == []
    assert [r.document["type"] for r in receiver.requests("/secretariat")] == [
        "ConsensusRoundOpened"
    ]
