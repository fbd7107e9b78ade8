"""A database dump does not give the webhooks' signing secrets away: they are sealed (AES-256-GCM)
under a key kept outside the database, each bound to its webhook; a forger holding the dump, a
wrong key or a secret moved to another webhook's row opens none of them."""

from __future__ import annotations

import base64
import re
import secrets as random
from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.webhooks import WebhookActivities
from domain.errors import Fault, InvalidInput
from runtime.bootstrap import webhook_deliveries
from runtime.settings import Settings
from store.eventstore import EventStore
from store.migrate import downgrade, upgrade
from store.webhook_secrets import WebhookSecrets, webhook_key
from tests.integration.store import conftest as store_fixtures
from tests.integration.store.raw_sql import raw_transaction
from tests.unit.test_webhooks import round_opened
from workflows.messages import WebhookDeliveryInput, webhook_delivery_id

# The store tests' fixtures: an empty, migrated store on SQLite and on PostgreSQL.
sqlite_template = store_fixtures.sqlite_template
postgres_url = store_fixtures.postgres_url
store_url = store_fixtures.store_url
store = store_fixtures.store

URL = "https://mfa.example/concord"
SEALED = re.compile(r"^v1:[A-Za-z0-9+/]+=*$")


@pytest.fixture
def key() -> bytes:
    return random.token_bytes(32)


@pytest.fixture
def secrets(key: bytes) -> WebhookSecrets:
    return WebhookSecrets(key)


async def dump(store: EventStore) -> list[dict[str, object]]:
    """The webhooks table as a forger holding the database has it."""
    async with raw_transaction(store.url) as connection:
        rows = await connection.execute(text("SELECT * FROM webhooks ORDER BY webhook_id"))
        return [dict(row._mapping) for row in rows]


async def stored_secret(store: EventStore, webhook_id: str, value: str | None = None) -> str:
    """The `secret` column of a webhook's row, as stored (set to `value` first, if given)."""
    async with raw_transaction(store.url) as connection:
        if value is not None:
            await connection.execute(
                text("UPDATE webhooks SET secret = :value WHERE webhook_id = :id"),
                {"value": value, "id": webhook_id},
            )
        row = await connection.execute(
            text("SELECT secret FROM webhooks WHERE webhook_id = :id"), {"id": webhook_id}
        )
        return str(row.scalar_one())


async def test_a_database_dump_holds_no_signing_secret(
    store: EventStore, secrets: WebhookSecrets
) -> None:
    registered = [
        await store.webhooks.register(f"member:{code}", URL, "operator:test", secrets)
        for code in ("RUS", "NOR")
    ]

    rows = await dump(store)
    everything = repr(rows)
    for record, secret in registered:
        assert secret not in everything
        assert secret.removeprefix("whsec_") not in everything
        assert base64.b64encode(secret.encode()).decode() not in everything
        assert await store.webhooks.signing(record.webhook_id, secrets) == (record, secret)
    assert all(SEALED.match(str(row["secret"])) for row in rows), rows
    if store.url.startswith("sqlite"):  # the file itself, and its write-ahead log
        path = Path(store.url.removeprefix("sqlite+aiosqlite:///"))
        files = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
        assert all(secret.encode() not in files for _, secret in registered)


async def test_a_secret_does_not_open_under_another_key(
    store: EventStore, secrets: WebhookSecrets
) -> None:
    record, _ = await store.webhooks.register("member:RUS", URL, "operator:test", secrets)

    with pytest.raises(Fault) as failed:
        await store.webhooks.signing(record.webhook_id, WebhookSecrets.ephemeral())

    assert failed.value.message == (
        f"the signing secret of webhook {record.webhook_id} cannot be read: it does not open "
        "under this installation's key (CONCORD_WEBHOOK_KEY_FILE): sealed under another key, "
        "for another webhook, or altered"
    )


async def test_a_sealed_secret_moved_to_another_webhook_or_altered_does_not_open(
    store: EventStore, secrets: WebhookSecrets
) -> None:
    mine, my_secret = await store.webhooks.register("member:RUS", URL, "operator:test", secrets)
    theirs, _ = await store.webhooks.register("member:NOR", URL, "operator:test", secrets)
    sealed = await stored_secret(store, mine.webhook_id)

    await stored_secret(store, theirs.webhook_id, sealed)
    with pytest.raises(Fault, match=f"webhook {theirs.webhook_id} cannot be read"):
        await store.webhooks.signing(theirs.webhook_id, secrets)
    assert (await store.webhooks.signing(mine.webhook_id, secrets))[1] == my_secret

    altered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    await stored_secret(store, mine.webhook_id, altered)
    with pytest.raises(Fault, match="sealed under another key, for another webhook, or altered"):
        await store.webhooks.signing(mine.webhook_id, secrets)
    await stored_secret(store, mine.webhook_id, "not a secret")
    with pytest.raises(Fault, match="neither sealed"):
        await store.webhooks.signing(mine.webhook_id, secrets)


async def test_a_secret_kept_as_is_before_sealing_is_read_then_sealed_when_a_worker_starts(
    store: EventStore, key: bytes, secrets: WebhookSecrets, tmp_path: Path
) -> None:
    record, secret = await store.webhooks.register("member:RUS", URL, "operator:test", secrets)
    await stored_secret(store, record.webhook_id, secret)  # as revision 0014 wrote it
    assert (await store.webhooks.signing(record.webhook_id, secrets))[1] == secret
    (tmp_path / "webhook.key").write_text(key.hex())

    await webhook_deliveries(Settings(data_dir=tmp_path, database_url=store.url), store)

    assert SEALED.match(await stored_secret(store, record.webhook_id))
    assert (await store.webhooks.signing(record.webhook_id, secrets))[1] == secret
    assert await store.webhooks.seal_secrets(secrets) == 0, "sealed once"


def test_the_key_is_made_once_for_its_owner_alone_and_a_bad_one_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Settings(data_dir=tmp_path / "var").webhook_secrets_key_file
    assert path == tmp_path / "var" / "webhook.key"

    made = webhook_key(path)

    assert len(made) == 32 and webhook_key(path) == made
    assert path.stat().st_mode & 0o777 == 0o600
    assert re.fullmatch(r"[0-9a-f]{64}", path.read_text())
    monkeypatch.setenv("CONCORD_WEBHOOK_KEY_FILE", str(tmp_path / "elsewhere.key"))
    assert Settings().webhook_secrets_key_file == tmp_path / "elsewhere.key"
    for content, problem in (("not hex", "hexadecimal digits"), ("00" * 16, "32 bytes")):
        path.write_text(content)
        with pytest.raises(InvalidInput, match=problem) as refused:
            webhook_key(path)
        assert refused.value.field == "CONCORD_WEBHOOK_KEY_FILE"


async def test_a_delivery_whose_secret_does_not_open_is_recorded_as_such_and_not_sent(
    store: EventStore, secrets: WebhookSecrets
) -> None:
    record, _ = await store.webhooks.register("member:RUS", URL, "operator:test", secrets)
    event = round_opened("RUS")
    delivery_id = webhook_delivery_id(record.webhook_id, "e-1")
    deliveries = WebhookActivities(store, WebhookSecrets.ephemeral())

    with pytest.raises(ApplicationError, match="cannot be read"):
        await ActivityEnvironment().run(
            deliveries.deliver_webhook,
            WebhookDeliveryInput(
                delivery_id=delivery_id, webhook_id=record.webhook_id, event_id="e-1", event=event
            ),
        )

    attempt = await store.webhooks.delivery(delivery_id)
    assert attempt is not None and attempt.delivered_at is None
    assert "cannot be read: it does not open under this installation's key" in attempt.last_status


async def test_the_schema_is_not_downgraded_below_sealing_while_secrets_are_sealed(
    tmp_path: Path, secrets: WebhookSecrets
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'concord.db'}"
    await upgrade(url)
    async with raw_transaction(url) as connection:
        await connection.execute(
            text(
                "INSERT INTO webhooks VALUES ('0123456789abcdef', 'member:RUS', :url, :secret, "
                "'2026-12-06T00:00:00.000000Z', 'operator:test', NULL)"
            ),
            {"url": URL, "secret": secrets.seal("0123456789abcdef", "whsec_x")},
        )

    with pytest.raises(Fault, match="1 webhook signing secrets are sealed"):
        await downgrade(url, "0014")
