"""Webhooks over real HTTP: a delegation registers its own endpoint, the secretariat any
member's or its own; nobody registers for another, and an auditor registers none."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.addresses import AddressPolicy, parse_networks
from api.main import api_app
from api.server import serving
from runtime.access import Role, Tokens
from runtime.decisions import DecisionClient
from runtime.webhooks import WebhookRegistration
from store.eventstore import EventStore, open_store
from store.webhook_secrets import WebhookSecrets
from store.webhooks import SECRET_PREFIX
from tests.councils import testing_rosters
from tests.ports import free_port
from tests.security.endpoints import ScriptedResolver
from tests.shutdown import bounded, stopped
from tests.stores import migrated_sqlite

pytestmark = pytest.mark.e2e

URL = "https://mfa.example/concord/hooks"
MFA = "198.51.100.80"
"""What mfa.example resolves to for these tests (a documentation address, which their
installation allows): registration resolves the name, nothing connects to it."""


@dataclass
class Api:
    http: httpx.AsyncClient
    store: EventStore
    secrets: WebhookSecrets
    keys: dict[str, str]
    """Each principal's token: RUS, NOR, `operator`, `auditor`."""

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    async def register(self, who: str, **body: Any) -> httpx.Response:
        return await self.http.post("/webhooks", json=body, headers=self.auth(who))

    async def listed(self, who: str) -> list[dict[str, Any]]:
        response = await self.http.get("/webhooks", headers=self.auth(who))
        assert response.status_code == 200, response.text
        webhooks: list[dict[str, Any]] = response.json()["webhooks"]
        return webhooks

    async def remove(self, who: str, webhook_id: str) -> httpx.Response:
        return await self.http.delete(f"/webhooks/{webhook_id}", headers=self.auth(who))


@pytest.fixture
async def api(dev_server: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Api]:
    url = await migrated_sqlite(tmp_path / "concord.db")
    store = await open_store(url)
    task_queue = f"concord-api-{uuid.uuid4().hex[:8]}"
    registration = WebhookRegistration(
        secrets=WebhookSecrets.ephemeral(),
        policy=AddressPolicy(parse_networks("198.51.100.0/24")),
        resolver=ScriptedResolver({"mfa.example": [[MFA]]}),
    )
    try:
        decisions = DecisionClient(dev_server.client, task_queue, rosters=testing_rosters)
        port = free_port()
        async with (
            bounded(
                f"the API on 127.0.0.1:{port}",
                serving(api_app(decisions, store, webhooks=registration), "127.0.0.1", port),
            ),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
        ):
            tokens = Tokens(store)
            keys = {
                code: (await tokens.issue(Role.MEMBER, code, "operator:test")).token
                for code in ("RUS", "NOR")
            }
            keys["operator"] = (
                await tokens.issue(Role.OPERATOR, "secretariat", "operator:test")
            ).token
            keys["auditor"] = (await tokens.issue(Role.AUDITOR, "ana", "operator:test")).token
            yield Api(http, store, registration.secrets, keys)
    finally:
        await stopped(f"the event store at {url}", store.close())


def refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


async def test_a_member_registers_its_own_webhook_and_sees_its_secret_only_then(api: Api) -> None:
    response = await api.register("RUS", url=URL)

    assert response.status_code == 201, response.text
    registered = response.json()
    assert registered["principal"] == "member:RUS"
    assert registered["created_by"] == "member:RUS"
    assert registered["url"] == URL and registered["disabled_at"] is None
    assert registered["secret"].startswith(SECRET_PREFIX)
    [listed] = await api.listed("RUS")
    assert "secret" not in listed
    assert listed == {k: v for k, v in registered.items() if k != "secret"}
    assert await api.listed("NOR") == [], "a member sees only its own"
    assert [w["webhook_id"] for w in await api.listed("operator")] == [registered["webhook_id"]]
    _, secret = await api.store.webhooks.signing(registered["webhook_id"], api.secrets)
    assert secret == registered["secret"], "kept, sealed, to sign with"


async def test_a_member_registering_for_another_member_or_an_auditor_is_forbidden(
    api: Api,
) -> None:
    for_another = await api.register("RUS", url=URL, member="NOR")
    by_auditor = await api.register("auditor", url=URL)

    refused(for_another, 403, "forbidden")
    refused(by_auditor, 403, "forbidden")
    assert await api.store.webhooks.in_use() == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://mfa.example/hooks",
        "mailto:desk@mfa.example",
        "not a url",
        "https://",
        "https://mfa.example:99999/hooks",
        "https://desk:pw@mfa.example/hooks",
        "https://127.0.0.1:7233/",
        "https://mfa.example/" + "x" * 2_000,
    ],
)
async def test_a_url_concord_cannot_post_to_is_invalid_input_naming_it(api: Api, url: str) -> None:
    error = refused(await api.register("RUS", url=url), 422, "invalid_input")

    assert error["field"] == "url"
    assert await api.store.webhooks.in_use() == []


async def test_the_secretariat_registers_for_a_member_a_body_or_itself(api: Api) -> None:
    for_member = await api.register("operator", url=URL, member="NOR")
    for_body = await api.register("operator", url=URL, member="PC")
    for_itself = await api.register("operator", url=URL)
    unknown = await api.register("operator", url=URL, member="XYZ")

    assert for_member.json()["principal"] == "member:NOR"
    assert for_body.json()["principal"] == "member:PC"
    assert for_itself.json()["principal"] == "operator:secretariat"
    assert {for_member.status_code, for_body.status_code, for_itself.status_code} == {201}
    refused(unknown, 404, "not_found")
    assert [w["principal"] for w in await api.listed("NOR")] == ["member:NOR"]


async def test_a_member_removes_its_own_webhook_and_no_other(api: Api) -> None:
    webhook_id = (await api.register("RUS", url=URL)).json()["webhook_id"]

    refused(await api.remove("NOR", webhook_id), 403, "forbidden")
    refused(await api.remove("auditor", webhook_id), 403, "forbidden")
    removed = await api.remove("RUS", webhook_id)

    assert removed.status_code == 200, removed.text
    assert removed.json()["disabled_at"] is not None
    assert await api.listed("RUS") == []
    refused(await api.remove("RUS", "0123456789abcdef"), 404, "not_found")
