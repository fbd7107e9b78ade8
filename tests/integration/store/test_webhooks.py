"""Webhooks in the store, on each backend: registered, listed without secrets, removed; each
delivery's attempts kept on one row; and `concord webhooks` over the same tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import webhooks as webhooks_cli
from cli.app import invoke
from domain.errors import InvalidInput, NotFound, Refusal, Rule
from store.eventstore import EventStore
from store.webhook_secrets import WebhookSecrets
from store.webhooks import DeliveryAttempt

URL = "https://mfa.example/concord"
CLI_URL = "https://192.0.2.10/concord"
"""An address, so that the CLI (with the system's resolver) resolves nothing; a documentation
one, which the CLI's tests allow: nothing ever connects to it."""


def attempt(number: int, status: str, delivered: bool = False) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id="webhook-0123456789abcdef-e-1",
        webhook_id="0123456789abcdef",
        event_id="e-1",
        decision_id="d-terror",
        event_type="ConsensusRoundOpened",
        attempt=number,
        status=status,
        delivered=delivered,
    )


@pytest.fixture
def secrets() -> WebhookSecrets:
    return WebhookSecrets.ephemeral()


async def test_a_webhook_is_listed_for_its_principal_until_removed(
    store: EventStore, secrets: WebhookSecrets
) -> None:
    rus, secret = await store.webhooks.register("member:RUS", URL, "operator:test", secrets)
    nor, _ = await store.webhooks.register("member:NOR", URL, "operator:test", secrets)

    assert [w.webhook_id for w in await store.webhooks.in_use("member:RUS")] == [rus.webhook_id]
    assert {w.webhook_id for w in await store.webhooks.in_use()} == {rus.webhook_id, nor.webhook_id}
    assert (await store.webhooks.signing(rus.webhook_id, secrets)) == (rus, secret)

    removed = await store.webhooks.remove(rus.webhook_id)
    again = await store.webhooks.remove(rus.webhook_id)

    assert removed.disabled_at is not None and again == removed
    assert await store.webhooks.in_use("member:RUS") == []
    assert (await store.webhooks.get(rus.webhook_id)).disabled_at == removed.disabled_at


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("file:///etc/passwd", "http:// or https://"),
        ("http://user:pw@10.0.0.1/", "user name or password"),
        ("http://mfa.example:0/", "port in 1..65535"),
        ("http://mfa.example:65536/", "out of range"),
    ],
)
async def test_a_url_concord_cannot_call_is_refused_and_an_unknown_webhook_not_found(
    store: EventStore, secrets: WebhookSecrets, url: str, rule: str
) -> None:
    with pytest.raises(InvalidInput, match=rf"^url: .*{rule}"):
        await store.webhooks.register("member:RUS", url, "operator:test", secrets)
    with pytest.raises(NotFound):
        await store.webhooks.remove("0123456789abcdef")
    assert await store.webhooks.in_use() == []


async def test_a_principal_registers_up_to_its_limit_of_webhooks_in_use(
    store: EventStore, secrets: WebhookSecrets
) -> None:
    first, _ = await store.webhooks.register("member:RUS", URL, "operator:test", secrets, 2)
    await store.webhooks.register("member:RUS", URL, "operator:test", secrets, 2)

    with pytest.raises(Refusal, match="member:RUS has 2 webhooks in use") as refused:
        await store.webhooks.register("member:RUS", URL, "operator:test", secrets, 2)
    await store.webhooks.register("member:NOR", URL, "operator:test", secrets, 2)
    await store.webhooks.remove(first.webhook_id)
    await store.webhooks.register("member:RUS", URL, "operator:test", secrets, 2)

    assert refused.value.rule is Rule.WEBHOOK_LIMIT
    assert len(await store.webhooks.in_use("member:RUS")) == 2


async def test_each_attempt_updates_its_deliverys_one_row_and_a_delivery_stays_delivered(
    store: EventStore,
) -> None:
    await store.webhooks.record_attempt(attempt(1, "503"))
    await store.webhooks.record_attempt(attempt(2, "ConnectError: refused"))
    failing = await store.webhooks.delivery(attempt(1, "").delivery_id)
    await store.webhooks.record_attempt(attempt(3, "200", delivered=True))
    await store.webhooks.record_attempt(attempt(3, "200", delivered=True))  # recorded twice

    [record] = await store.webhooks.deliveries()
    assert failing is not None
    assert (failing.attempts, failing.last_status, failing.delivered_at) == (
        2,
        "ConnectError: refused",
        None,
    )
    assert (record.attempts, record.last_status) == (3, "200")
    assert record.delivered_at is not None
    assert await store.webhooks.deliveries("fedcba9876543210") == []


def cli(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(webhooks_cli.app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture
async def cli_store(
    store: EventStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> EventStore:
    monkeypatch.setenv("CONCORD_DATABASE_URL", store.url)
    monkeypatch.setenv("CONCORD_OPERATOR", "secretariat")
    monkeypatch.setenv("CONCORD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONCORD_WEBHOOK_ALLOW_NETWORKS", "192.0.2.0/24")
    await store.webhooks.record_attempt(attempt(1, "503"))
    return store


def test_the_cli_adds_lists_and_removes_webhooks_and_shows_deliveries(
    cli_store: EventStore, tmp_path: Path
) -> None:
    added = cli("add", "--member", "RUS", "--url", CLI_URL)
    mine = cli("add", "--url", CLI_URL)

    assert added["principal"] == "member:RUS" and added["secret"]
    assert added["created_by"] == "operator:secretariat"
    assert mine["principal"] == "operator:secretariat"
    listed = cli("list")["webhooks"]
    assert [w["webhook_id"] for w in listed] == [added["webhook_id"], mine["webhook_id"]]
    assert all("secret" not in w for w in listed)
    assert cli("remove", added["webhook_id"])["disabled_at"] is not None
    assert [w["webhook_id"] for w in cli("list")["webhooks"]] == [mine["webhook_id"]]
    [delivery] = cli("deliveries")["deliveries"]
    assert (delivery["attempts"], delivery["last_status"], delivery["delivered_at"]) == (
        1,
        "503",
        None,
    )
    assert cli("deliveries", "--webhook", mine["webhook_id"])["deliveries"] == []
    unknown = CliRunner().invoke(webhooks_cli.app, ["add", "--member", "XYZ", "--url", CLI_URL])
    assert isinstance(unknown.exception, NotFound)
    # Sealed under the installation's key, which the CLI made beside the database.
    assert (tmp_path / "webhook.key").stat().st_mode & 0o777 == 0o600


def test_the_cli_refuses_a_url_inside_the_network_with_exit_2_naming_the_rule(
    cli_store: EventStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = invoke(["webhooks", "add", "--url", "http://2130706433:7233/"])

    assert code == 2
    assert capsys.readouterr().err == (
        "concord: invalid input: url: 127.0.0.1 is a loopback address, which webhooks may not "
        "reach (an installation allows its own networks with CONCORD_WEBHOOK_ALLOW_NETWORKS)\n"
    )
    assert invoke(["webhooks", "add", "--url", "http://u:p@192.0.2.10/"]) == 2
