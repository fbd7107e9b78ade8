"""A delegation's webhook cannot make the worker call inside the network (SSRF): an address
inside is refused at registration however it is written, and again at every delivery after the
name is resolved, the connection going to the address checked (DNS rebinding); redirects are not
followed and an answer is not read whole.

No test sends anything off this machine: targets that are not loopback are refused at
registration only, and deliveries go through the tests' edge of the network (MachineEdge), which
lets nothing but loopback addresses through; names are resolved by a resolver of the test's own.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.addresses import AddressPolicy, parse_networks
from activities.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    WebhookActivities,
    signature_holds,
)
from api.main import api_app
from api.server import serving as serving_api
from domain.errors import InvalidInput
from runtime.access import Role, Tokens
from runtime.decisions import DecisionClient
from runtime.settings import load_settings
from runtime.webhooks import WebhookRegistration
from store.eventstore import EventStore, open_store
from store.migrate import upgrade
from store.records import event_id_for
from store.webhook_secrets import WebhookSecrets
from store.webhooks import DeliveryRecord
from tests.councils import testing_rosters
from tests.integration.workflows import conftest as workflow_fixtures
from tests.integration.workflows.council import Council
from tests.integration.workflows.test_webhooks import delivered, opened_round
from tests.ports import free_port
from tests.security.endpoints import (
    HUGE_BYTES,
    Certificates,
    Endpoint,
    MachineEdge,
    ScriptedResolver,
    certificates,
    serving,
)
from tests.shutdown import bounded, stopped
from tests.temporal import delivering
from workflows.messages import WebhookDeliveryResult, webhook_delivery_id

# The workflow tests' fixtures: the time-skipping test server, a migrated store, one decision.
env = workflow_fixtures.env
store_url = workflow_fixtures.store_url
store = workflow_fixtures.store
task_queue = workflow_fixtures.task_queue
decisions = workflow_fixtures.decisions
council = workflow_fixtures.council

REFUSED_AT_REGISTRATION = [
    # The issue's own, then the forms a resolver reads as an address inside.
    ("http://127.0.0.1:7233/", "127.0.0.1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://2130706433/", "127.0.0.1 is a loopback address"),
    ("http://user:pw@10.0.0.1/", "must not hold a user name or password"),
    ("http://0x7f.1/", "127.0.0.1 is a loopback address"),
    ("http://127.1/", "127.0.0.1 is a loopback address"),
    ("http://017700000001/", "127.0.0.1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:7f00:1 is a form of 127.0.0.1, a loopback address"),
    ("http://[2002:7f00:1::]/", "2002:7f00:1:: is a form of 127.0.0.1, a loopback address"),
    ("http://[64:ff9b::a00:1]/", "64:ff9b::a00:1 is a form of 10.0.0.1, a private address"),
    ("http://10.1.2.3/", "10.1.2.3 is a private address (RFC 1918)"),
    ("http://172.16.0.1/", "172.16.0.1 is a private address (RFC 1918)"),
    ("http://192.168.1.1/", "192.168.1.1 is a private address (RFC 1918)"),
    ("http://100.64.0.1/", "100.64.0.1 is a shared address (carrier-grade NAT"),
    ("http://[fd12:3456::1]/", "fd12:3456::1 is a unique local address (ULA)"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://224.0.0.251/", "224.0.0.251 is a multicast address"),
    ("http://[ff02::1]/", "ff02::1 is a multicast address"),
    ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
    ("http://[::]/", ":: is an unspecified address"),
    ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
    ("http://255.255.255.255/", "255.255.255.255 is a reserved address"),
    ("http://192.0.2.1/", "192.0.2.1 is a documentation address"),
    ("http://[2001:db8::1]/", "2001:db8::1 is a documentation address"),
    ("http://198.18.0.1/", "198.18.0.1 is a benchmarking address"),
    ("gopher://mfa.example/", "must be an http:// or https:// URL"),
    ("http://mfa.example:0/", "must have a port in 1..65535"),
    ("http://mfa.example:65536/", "out of range"),
    ("http://08.0.0.1/", "neither an IPv4 address nor a name"),
    ("http://[fe80::1%25eth0]/", "an IPv6 address with a zone"),
    # Names: every address a name resolves to is checked.
    ("https://inside.example/hooks", "inside.example resolves to 10.0.0.7, a private address"),
    ("https://mixed.example/hooks", "mixed.example resolves to 127.0.0.1, a loopback address"),
    ("https://metadata.example/", "metadata.example resolves to 169.254.169.254, a link-local"),
    ("https://nowhere.example/", "the host nowhere.example does not resolve"),
]
NAMES = {
    "mfa.example": [["198.51.100.80"]],
    "inside.example": [["10.0.0.7"]],
    "mixed.example": [["198.51.100.80", "127.0.0.1"]],
    "metadata.example": [["169.254.169.254"]],
}
"""What the registration tests' resolver answers. 198.51.100.0/24 stands for the internet there
(their installation allows it): nothing is ever sent to it, nor to any of these."""
INTERNET = "198.51.100.0/24"


@dataclass
class Registering:
    http: httpx.AsyncClient
    store: EventStore
    keys: dict[str, str]

    async def register(self, who: str, url: str, **body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[who]}"}
        return await self.http.post("/webhooks", json={"url": url, **body}, headers=headers)


@pytest.fixture(scope="module")
async def registering(
    dev_server: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Registering]:
    """The API over real HTTP, registering webhooks with the tests' resolver, in an installation
    that allows INTERNET and at most 3 webhooks a principal: one for the module, each test
    registering as a member no other test registers for."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('registering') / 'concord.db'}"
    await upgrade(url)
    store = await open_store(url)
    registration = WebhookRegistration(
        secrets=WebhookSecrets.ephemeral(),
        policy=AddressPolicy(parse_networks(INTERNET)),
        resolver=ScriptedResolver({name: list(answers) for name, answers in NAMES.items()}),
        limit_per_principal=3,
    )
    decisions = DecisionClient(
        dev_server.client, f"concord-ssrf-{uuid.uuid4().hex[:8]}", rosters=testing_rosters
    )
    port = free_port()
    try:
        async with (
            bounded(
                f"the API on 127.0.0.1:{port}",
                serving_api(api_app(decisions, store, webhooks=registration), "127.0.0.1", port),
            ),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
        ):
            tokens = Tokens(store)
            keys = {
                "RUS": (await tokens.issue(Role.MEMBER, "RUS", "operator:test")).token,
                "BEL": (await tokens.issue(Role.MEMBER, "BEL", "operator:test")).token,
                "operator": (
                    await tokens.issue(Role.OPERATOR, "secretariat", "operator:test")
                ).token,
            }
            yield Registering(http, store, keys)
    finally:
        await stopped(f"the event store at {url}", store.close())


@pytest.mark.e2e
@pytest.mark.parametrize(("url", "rule"), REFUSED_AT_REGISTRATION)
async def test_a_webhook_inside_the_network_is_refused_at_registration_naming_url_and_rule(
    registering: Registering, url: str, rule: str
) -> None:
    before = await registering.store.webhooks.in_use()
    response = await registering.register("RUS", url)

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_input", "url")
    assert rule in error["message"]
    assert await registering.store.webhooks.in_use() == before
    assert await registering.store.webhooks.in_use("member:RUS") == []


@pytest.mark.e2e
async def test_a_name_with_only_allowed_addresses_is_registered_up_to_the_principals_limit(
    registering: Registering,
) -> None:
    answers = [await registering.register("BEL", f"https://mfa.example/{n}") for n in range(4)]
    for_nor = await registering.register("operator", "https://mfa.example/nor", member="NOR")

    assert [a.status_code for a in answers] == [201, 201, 201, 409]
    error = answers[-1].json()["error"]
    assert error["code"] == "webhook_limit"
    assert "member:BEL has 3 webhooks in use" in error["message"]
    assert for_nor.status_code == 201, "the limit is each principal's"
    assert len(await registering.store.webhooks.in_use("member:BEL")) == 3


def test_an_installation_allows_its_own_networks_and_nothing_more() -> None:
    allowed = load_settings(webhook_allow_networks="10.20.0.0/16, fd00:aa::/32")
    policy = AddressPolicy(allowed.webhook_allowed_networks)

    assert policy.refusal(ip_address("10.20.3.4")) is None
    assert policy.refusal(ip_address("::ffff:10.20.3.4")) is None
    assert policy.refusal(ip_address("fd00:aa::5")) is None
    assert policy.refusal(ip_address("10.21.0.1")) == "a private address (RFC 1918)"
    assert policy.refusal(ip_address("127.0.0.1")) == "a loopback address"
    assert load_settings().webhook_allowed_networks == ()


def test_an_allowed_network_is_validated_when_the_settings_load_naming_the_variable() -> None:
    for malformed in ("10.20.0.1/16", "intranet", "10.0.0.0/33"):
        with pytest.raises(InvalidInput) as refused:
            load_settings(webhook_allow_networks=malformed)
        assert refused.value.field == "CONCORD_WEBHOOK_ALLOW_NETWORKS"
        assert repr(malformed) in refused.value.reason


# Deliveries: the real worker on the time-skipping test server, through the tests' edge.

LOOPBACK = "127.0.0.0/8"


@pytest.fixture
def allowed() -> str:
    """CONCORD_WEBHOOK_ALLOW_NETWORKS of the installation under test (a test may set it)."""
    return ""


@pytest.fixture
def secrets() -> WebhookSecrets:
    return WebhookSecrets.ephemeral()


@pytest.fixture
def resolver() -> ScriptedResolver:
    return ScriptedResolver()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    with serving() as running:
        yield running


@pytest.fixture
async def edge(request: pytest.FixtureRequest) -> AsyncIterator[MachineEdge]:
    """The tests' edge of the network; its TLS trusts the test's own authority when the test
    has one (`tls`), the system's otherwise."""
    tls = request.getfixturevalue("tls") if "tls" in request.fixturenames else None
    network = MachineEdge(tls.trusted if tls else None)
    try:
        yield network
    finally:
        await stopped("the tests' network edge", network.shut())


@pytest.fixture
async def worker(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    secrets: WebhookSecrets,
    allowed: str,
    resolver: ScriptedResolver,
    edge: MachineEdge,
) -> AsyncIterator[Worker]:
    """The worker as an installation runs it with `allowed`, its deliveries through the edge,
    and the projector, which starts the deliveries of the log's notable events."""
    policy = AddressPolicy(load_settings(webhook_allow_networks=allowed).webhook_allowed_networks)
    webhooks = WebhookActivities(store, secrets, policy, resolver, edge)
    async with delivering(env.client, store, task_queue, webhooks) as running:
        yield running


async def registered(store: EventStore, secrets: WebhookSecrets, url: str) -> str:
    """A webhook of RUS at `url`, kept as registration left it when the name pointed elsewhere:
    only the delivery's own check stands between it and what the name points to now."""
    record, _ = await store.webhooks.register("member:RUS", url, "operator:test", secrets)
    return record.webhook_id


async def round_for(council: Council, webhook_id: str) -> str:
    """Open a round RUS is to answer; the id of its delivery to the webhook."""
    _, opened = await opened_round(council)
    return webhook_delivery_id(webhook_id, event_id_for(council.decision_id, opened.stream_version))


async def given_up(
    env: WorkflowEnvironment, store: EventStore, delivery_id: str
) -> tuple[WebhookDeliveryResult, DeliveryRecord]:
    """How a delivery that ends undelivered ended, and its row."""
    deadline = time.monotonic() + 30
    while (record := await store.webhooks.delivery(delivery_id)) is None:
        assert time.monotonic() < deadline, f"{delivery_id} was never attempted"
        await asyncio.sleep(0.05)
    handle = env.client.get_workflow_handle(delivery_id, result_type=WebhookDeliveryResult)
    result = await handle.result()
    record = await store.webhooks.delivery(delivery_id)
    assert record is not None
    return result, record


async def test_a_name_that_resolves_to_loopback_is_refused_at_delivery_and_nothing_reached(
    env: WorkflowEnvironment,
    council: Council,
    store: EventStore,
    secrets: WebhookSecrets,
    resolver: ScriptedResolver,
    endpoint: Endpoint,
    edge: MachineEdge,
    worker: Worker,
) -> None:
    resolver.answers["localhost"] = [["127.0.0.1"]]
    webhook_id = await registered(store, secrets, endpoint.url("localhost", "/hook"))

    result, record = await given_up(env, store, await round_for(council, webhook_id))

    assert not result.delivered
    assert record.last_status.startswith(
        "refused: localhost resolves to 127.0.0.1, a loopback address, which webhooks may not "
        "reach (an installation allows its own networks with CONCORD_WEBHOOK_ALLOW_NETWORKS)"
    ), record.last_status
    assert (record.attempts, record.delivered_at) == (1, None), "a refusal is not retried"
    assert endpoint.reached == [] and edge.passed == [] and edge.stopped == []
    assert resolver.asked == ["localhost"]


@pytest.mark.parametrize("allowed", ["203.0.113.0/24"])  # stands for the internet here
async def test_an_address_that_changes_after_the_check_is_not_the_one_connected_to(
    council: Council,
    store: EventStore,
    secrets: WebhookSecrets,
    resolver: ScriptedResolver,
    endpoint: Endpoint,
    edge: MachineEdge,
    worker: Worker,
) -> None:
    """DNS rebinding: the name answers a public-looking address when it is checked, and
    loopback to any later question. The delivery asks once and connects where it checked (the
    edge keeps that request: nothing is sent to 203.0.113.7)."""
    resolver.answers["localhost"] = [["203.0.113.7"], ["127.0.0.1"]]
    webhook_id = await registered(store, secrets, endpoint.url("localhost", "/hook"))

    record = await delivered(store, await round_for(council, webhook_id))

    [request] = edge.stopped
    assert request.url.host == "203.0.113.7" and request.url.port == endpoint.port
    assert request.headers["Host"] == f"localhost:{endpoint.port}"
    assert record.last_status == "204"
    assert resolver.asked == ["localhost"], "resolved once, never again to connect"
    assert edge.passed == [] and endpoint.reached == [], "nothing reached loopback"


@pytest.mark.parametrize(
    ("answers", "refused"),
    [
        ([["203.0.113.7"], ["127.0.0.1"]], "203.0.113.7, a documentation address"),
        ([["198.51.100.9", "127.0.0.1"]], "127.0.0.1, a loopback address"),
    ],
    ids=["first-answer-not-allowed", "one-of-its-addresses-inside"],
)
@pytest.mark.parametrize("allowed", ["198.51.100.0/24"])
async def test_a_name_with_any_address_not_allowed_is_refused_and_connects_nowhere(
    env: WorkflowEnvironment,
    council: Council,
    store: EventStore,
    secrets: WebhookSecrets,
    resolver: ScriptedResolver,
    endpoint: Endpoint,
    edge: MachineEdge,
    worker: Worker,
    answers: list[list[str]],
    refused: str,
) -> None:
    resolver.answers["localhost"] = answers
    webhook_id = await registered(store, secrets, endpoint.url("localhost", "/hook"))

    result, record = await given_up(env, store, await round_for(council, webhook_id))

    assert not result.delivered
    assert record.last_status.startswith(f"refused: localhost resolves to {refused}")
    assert record.attempts == 1
    assert edge.passed == [] and edge.stopped == [] and endpoint.reached == []


async def test_a_name_that_does_not_resolve_now_is_tried_again_and_nothing_is_sent(
    council: Council,
    store: EventStore,
    secrets: WebhookSecrets,
    resolver: ScriptedResolver,
    endpoint: Endpoint,
    edge: MachineEdge,
    worker: Worker,
) -> None:
    webhook_id = await registered(store, secrets, endpoint.url("localhost", "/hook"))

    delivery_id = await round_for(council, webhook_id)
    deadline = time.monotonic() + 30
    while (record := await store.webhooks.delivery(delivery_id)) is None or record.attempts < 2:
        assert time.monotonic() < deadline, f"attempted only as {record}"
        await asyncio.sleep(0.05)

    assert record.last_status.startswith("the host localhost does not resolve"), record
    assert record.delivered_at is None
    assert len(resolver.asked) >= 2, "a name may resolve later: it is asked again"
    assert edge.passed == [] and edge.stopped == [] and endpoint.reached == []


@pytest.mark.parametrize("allowed", [LOOPBACK])
async def test_with_loopback_allowed_the_name_is_delivered_there_under_its_own_host_header(
    council: Council,
    store: EventStore,
    secrets: WebhookSecrets,
    resolver: ScriptedResolver,
    endpoint: Endpoint,
    edge: MachineEdge,
    worker: Worker,
) -> None:
    resolver.answers["localhost"] = [["127.0.0.1"]]
    record, secret = await store.webhooks.register(
        "member:RUS", endpoint.url("localhost", "/hook?from=concord"), "operator:test", secrets
    )

    delivery_id = await round_for(council, record.webhook_id)
    done = await delivered(store, delivery_id)

    [reached] = endpoint.reached
    assert reached.path == "/hook?from=concord"
    assert reached.headers["Host"] == f"localhost:{endpoint.port}"
    assert reached.headers[DELIVERY_HEADER] == delivery_id
    assert signature_holds(
        secret, reached.headers[SIGNATURE_HEADER], reached.body, int(time.time())
    )
    assert [r.url.host for r in edge.passed] == ["127.0.0.1"] and edge.stopped == []
    assert (done.attempts, done.last_status) == (1, "200")


@pytest.mark.parametrize("allowed", [LOOPBACK])
async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    council: Council,
    store: EventStore,
    secrets: WebhookSecrets,
    resolver: ScriptedResolver,
    endpoint: Endpoint,
    edge: MachineEdge,
    worker: Worker,
) -> None:
    resolver.answers["localhost"] = [["127.0.0.1"]]
    webhook_id = await registered(store, secrets, endpoint.url("localhost", "/redirect"))

    delivery_id = await round_for(council, webhook_id)
    deadline = time.monotonic() + 30
    while len(endpoint.paths()) < 2:
        assert time.monotonic() < deadline, f"attempted only {endpoint.paths()}"
        await asyncio.sleep(0.05)

    record = await store.webhooks.delivery(delivery_id)
    assert record is not None and record.delivered_at is None
    assert record.last_status == "302 (a redirect: not followed)"
    assert set(endpoint.paths()) == {"/redirect"}, "/elsewhere was never asked for"
    assert edge.stopped == []


@pytest.mark.parametrize("allowed", [LOOPBACK])
async def test_a_huge_answer_is_not_read_whole(
    council: Council,
    store: EventStore,
    secrets: WebhookSecrets,
    resolver: ScriptedResolver,
    endpoint: Endpoint,
    worker: Worker,
) -> None:
    resolver.answers["localhost"] = [["127.0.0.1"]]
    webhook_id = await registered(store, secrets, endpoint.url("localhost", "/huge"))

    record = await delivered(store, await round_for(council, webhook_id))

    assert record.last_status == "200"
    assert await asyncio.to_thread(endpoint.huge_done.wait, 30)
    assert not endpoint.huge_whole, "the worker hung up before the end"
    # What the kernel's buffers took before the hang-up, at most some megabytes: never 1 GiB.
    assert endpoint.huge_sent < HUGE_BYTES // 16, endpoint.huge_sent


@pytest.fixture
def tls(tmp_path: Path) -> Certificates:
    return certificates("webhooks.localhost", tmp_path)


@pytest.fixture
def tls_endpoint(tls: Certificates) -> Iterator[Endpoint]:
    with serving(tls.server) as running:
        yield running


@pytest.mark.parametrize("allowed", [LOOPBACK])
async def test_over_tls_the_name_is_sent_and_its_certificate_checked_not_the_addresss(
    council: Council,
    store: EventStore,
    secrets: WebhookSecrets,
    resolver: ScriptedResolver,
    tls: Certificates,
    tls_endpoint: Endpoint,
    edge: MachineEdge,
    worker: Worker,
) -> None:
    """The worker connects to the address it checked and still speaks TLS to the name: the
    name goes in SNI, and a certificate for another name is refused."""
    resolver.answers["webhooks.localhost"] = [["127.0.0.1"]]
    resolver.answers["other.localhost"] = [["127.0.0.1"]]
    named = await registered(store, secrets, tls_endpoint.url("webhooks.localhost", "/hook"))
    other, _ = await store.webhooks.register(
        "member:NOR", tls_endpoint.url("other.localhost", "/hook"), "operator:test", secrets
    )

    _, opened = await opened_round(council)
    event_id = event_id_for(council.decision_id, opened.stream_version)
    await delivered(store, webhook_delivery_id(named, event_id))

    [reached] = tls_endpoint.reached
    assert reached.headers["Host"] == f"webhooks.localhost:{tls_endpoint.port}"
    assert "webhooks.localhost" in tls_endpoint.server_names
    deadline = time.monotonic() + 30
    while (
        failing := await store.webhooks.delivery(webhook_delivery_id(other.webhook_id, event_id))
    ) is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    assert failing.delivered_at is None
    assert "CERTIFICATE_VERIFY_FAILED" in failing.last_status, failing.last_status
    assert "other.localhost" in tls_endpoint.server_names
    assert len(tls_endpoint.reached) == 1, "no request was sent over the refused connection"
