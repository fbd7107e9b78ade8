"""Webhooks: the endpoints delegations and the secretariat register, and each delivery's outcome.

A webhook serves one principal: `member:<code>` for a member state or a body of the Council
(the monitoring body of a plan is told of its missed report), `operator:<name>` for the
secretariat. Its signing secret (256 random bits) is handed over once, at registration, and is
never listed; unlike an access token's it is not hashed, because Concord signs every delivery
with it and so must be able to read it back: it is sealed under a key kept outside the database
(store.webhook_secrets). A principal has at most a bounded number of webhooks in use.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import InvalidInput, NotFound, Refusal, Rule
from domain.roster import RosterBook
from store.backends import LogBackend
from store.hashing import format_instant, parse_instant
from store.schema import webhook_deliveries, webhooks
from store.webhook_secrets import WebhookSecrets, is_plaintext

MAX_URL_LENGTH: Final = 2_000
SECRET_PREFIX: Final = "whsec_"
WEBHOOK_ID: Final = re.compile(r"^[0-9a-f]{16}$")
_URL_CHARACTERS: Final = re.compile(r"^[\x21-\x7e]+$")
"""Printable ASCII without spaces: an internationalised host or path is given encoded."""
MAX_STATUS_LENGTH: Final = 500


class WebhookRecord(BaseModel):
    """A webhook as stored and listed: never its secret."""

    model_config = ConfigDict(frozen=True)

    webhook_id: str
    principal: str
    """Whom it serves: `member:RUS`, `member:PC`, `operator:secretariat`."""
    url: str
    created_at: datetime
    created_by: str
    disabled_at: datetime | None
    """When it was removed: no delivery starts for it from then on."""


class Delivery(BaseModel):
    """One event for one webhook."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    webhook_id: str
    event_id: str
    decision_id: str
    event_type: str


class DeliveryAttempt(Delivery):
    """The outcome of one attempt to deliver an event to a webhook."""

    attempt: int
    status: str
    """The HTTP status the endpoint answered, or why no answer came."""
    delivered: bool


class DeliveryRecord(Delivery):
    """A delivery as the store keeps it: its attempts so far and how the last one went."""

    attempts: int
    last_status: str
    delivered_at: datetime | None
    updated_at: datetime


def checked_url(url: str) -> str:
    """`url` when it is an absolute http or https URL with a host, a port in 1..65535 if any,
    no user name or password, of at most 2,000 characters; InvalidInput naming `url` otherwise.
    Whether its host may be reached is the address policy's (activities.addresses)."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput("url", f"at most {MAX_URL_LENGTH} characters")
    if not _URL_CHARACTERS.match(url):
        raise InvalidInput("url", "printable ASCII without spaces (encode other characters)")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as error:
        raise InvalidInput("url", f"is not a URL ({error})") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("url", "must be an http:// or https:// URL")
    if "@" in parts.netloc:
        raise InvalidInput("url", "must not hold a user name or password (user:password@)")
    if not host:
        raise InvalidInput("url", "must name a host")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidInput("url", "must have a port in 1..65535")
    return url


def participant_principal(code: str, rosters: RosterBook | None = None) -> str:
    """The principal a member state or a body of the council is told as (`member:<code>`);
    NotFound when no roster of the council (the shipped NRC's when none is given) has it."""
    if rosters is None:
        from domain.nrc import NRC_ROSTERS  # read from its file: only when it is needed

        rosters = NRC_ROSTERS
    if not any(r.is_member(code) or r.is_body(code) for r in rosters.rosters):
        raise NotFound(f"no member or body {code!r} on any roster of the Council")
    return f"member:{code}"


def new_webhook() -> tuple[str, str]:
    """(webhook id, signing secret): 64 random bits of id, 256 of secret."""
    return secrets.token_hex(8), SECRET_PREFIX + secrets.token_urlsafe(32)


async def insert_webhook(
    connection: AsyncConnection,
    webhook_id: str,
    sealed_secret: str,
    principal: str,
    url: str,
    created_by: str,
    limit: int | None = None,
) -> WebhookRecord:
    """Keep a new webhook; Refusal (webhook_limit) when `principal` has `limit` in use."""
    checked_url(url)
    if limit is not None:
        await _within_limit(connection, principal, limit)
    row = {
        "webhook_id": webhook_id,
        "principal": principal,
        "url": url,
        "secret": sealed_secret,
        "created_at": format_instant(datetime.now(UTC)),
        "created_by": created_by,
        "disabled_at": None,
    }
    await connection.execute(webhooks.insert().values(**row))
    return _webhook(row)


async def _within_limit(connection: AsyncConnection, principal: str, limit: int) -> None:
    in_use = webhooks.c.principal == principal, webhooks.c.disabled_at.is_(None)
    # On PostgreSQL, locks the principal's webhooks so that concurrent registrations count one
    # after the other (the count, a statement of its own, sees those committed meanwhile).
    await connection.execute(select(webhooks.c.webhook_id).where(*in_use).with_for_update())
    count = (await connection.execute(select(func.count()).where(*in_use))).scalar_one()
    if count >= limit:
        raise Refusal(
            Rule.WEBHOOK_LIMIT,
            f"{principal} has {count} webhooks in use, the most a principal may have "
            "(CONCORD_WEBHOOK_LIMIT_PER_PRINCIPAL): remove one first",
            principal=principal,
            count=count,
        )


async def webhook_by_id(connection: AsyncConnection, webhook_id: str) -> WebhookRecord:
    return _webhook(await _webhook_row(connection, webhook_id))


async def signing_webhook(
    connection: AsyncConnection, webhook_id: str, secrets: WebhookSecrets
) -> tuple[WebhookRecord, str]:
    """The webhook and its secret, to sign a delivery with; NotFound when there is none, Fault
    when its secret does not open under `secrets`' key."""
    row = await _webhook_row(connection, webhook_id)
    return _webhook(row), secrets.open(webhook_id, str(row["secret"]))


async def seal_plaintext(connection: AsyncConnection, secrets: WebhookSecrets) -> int:
    """Seal the secrets written as is before sealing; how many were. A row sealed or changed
    meanwhile by another process is left as that process wrote it."""
    rows = await connection.execute(
        select(webhooks.c.webhook_id, webhooks.c.secret).where(
            webhooks.c.secret.like("whsec\\_%", escape="\\")
        )
    )
    sealed = 0
    for webhook_id, stored in rows.all():
        if not is_plaintext(stored):
            continue
        result = await connection.execute(
            update(webhooks)
            .where(webhooks.c.webhook_id == webhook_id, webhooks.c.secret == stored)
            .values(secret=secrets.seal(webhook_id, stored))
        )
        sealed += result.rowcount
    return sealed


async def _webhook_row(connection: AsyncConnection, webhook_id: str) -> dict[str, object]:
    row = (
        await connection.execute(select(webhooks).where(webhooks.c.webhook_id == webhook_id))
    ).first()
    if row is None:
        raise NotFound(f"no webhook {webhook_id}")
    return dict(row._mapping)


async def disable(connection: AsyncConnection, webhook_id: str) -> WebhookRecord:
    """Remove a webhook (its row and deliveries stay, for the record); again changes nothing."""
    record = await webhook_by_id(connection, webhook_id)
    if record.disabled_at is not None:
        return record
    now = format_instant(datetime.now(UTC))
    await connection.execute(
        update(webhooks).where(webhooks.c.webhook_id == webhook_id).values(disabled_at=now)
    )
    return record.model_copy(update={"disabled_at": parse_instant(now)})


async def active_webhooks(
    connection: AsyncConnection, principal: str | None = None
) -> list[WebhookRecord]:
    """The webhooks not removed (of one principal, if given), oldest first."""
    query = select(webhooks).where(webhooks.c.disabled_at.is_(None))
    if principal is not None:
        query = query.where(webhooks.c.principal == principal)
    rows = await connection.execute(query.order_by(webhooks.c.created_at, webhooks.c.webhook_id))
    return [_webhook(dict(row._mapping)) for row in rows]


async def record_attempt(connection: AsyncConnection, attempt: DeliveryAttempt) -> DeliveryRecord:
    """Keep an attempt's outcome on its delivery's row (created by the first attempt). The count
    is Temporal's attempt number, so an attempt recorded twice counts once; a delivered row
    stays delivered."""
    now = format_instant(datetime.now(UTC))
    status = attempt.status[:MAX_STATUS_LENGTH]
    current = await _delivery_row(connection, attempt.delivery_id)
    if current is None:
        row = {
            **attempt.model_dump(include=set(Delivery.model_fields)),
            "attempts": attempt.attempt,
            "last_status": status,
            "delivered_at": now if attempt.delivered else None,
            "updated_at": now,
        }
        await connection.execute(webhook_deliveries.insert().values(**row))
        return _delivery(row)
    changes = {
        "attempts": max(int(str(current["attempts"])), attempt.attempt),
        "last_status": status,
        "delivered_at": current["delivered_at"] or (now if attempt.delivered else None),
        "updated_at": now,
    }
    await connection.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.delivery_id == attempt.delivery_id)
        .values(**changes)
    )
    return _delivery({**current, **changes})


async def delivery_by_id(connection: AsyncConnection, delivery_id: str) -> DeliveryRecord | None:
    row = await _delivery_row(connection, delivery_id)
    return _delivery(row) if row is not None else None


async def recent_deliveries(
    connection: AsyncConnection, webhook_id: str | None = None, limit: int = 100
) -> list[DeliveryRecord]:
    """Up to `limit` deliveries (to one webhook, if given), the most recently attempted first."""
    query = select(webhook_deliveries)
    if webhook_id is not None:
        query = query.where(webhook_deliveries.c.webhook_id == webhook_id)
    rows = await connection.execute(
        query.order_by(
            webhook_deliveries.c.updated_at.desc(), webhook_deliveries.c.delivery_id
        ).limit(limit)
    )
    return [_delivery(dict(row._mapping)) for row in rows]


async def _delivery_row(connection: AsyncConnection, delivery_id: str) -> dict[str, object] | None:
    row = (
        await connection.execute(
            select(webhook_deliveries).where(webhook_deliveries.c.delivery_id == delivery_id)
        )
    ).first()
    return dict(row._mapping) if row is not None else None


def _instant(value: object) -> datetime | None:
    return parse_instant(str(value)) if value else None


def _webhook(row: Mapping[str, object]) -> WebhookRecord:
    return WebhookRecord(
        webhook_id=str(row["webhook_id"]),
        principal=str(row["principal"]),
        url=str(row["url"]),
        created_at=parse_instant(str(row["created_at"])),
        created_by=str(row["created_by"]),
        disabled_at=_instant(row["disabled_at"]),
    )


def _delivery(row: Mapping[str, object]) -> DeliveryRecord:
    return DeliveryRecord(
        delivery_id=str(row["delivery_id"]),
        webhook_id=str(row["webhook_id"]),
        event_id=str(row["event_id"]),
        decision_id=str(row["decision_id"]),
        event_type=str(row["event_type"]),
        attempts=int(str(row["attempts"])),
        last_status=str(row["last_status"]),
        delivered_at=_instant(row["delivered_at"]),
        updated_at=parse_instant(str(row["updated_at"])),
    )


class Webhooks:
    """The webhooks and their deliveries in the store (`webhooks`, `webhook_deliveries`)."""

    def __init__(self, backend: LogBackend) -> None:
        self._backend = backend

    async def register(
        self,
        principal: str,
        url: str,
        by: str,
        secrets: WebhookSecrets,
        limit: int | None = None,
    ) -> tuple[WebhookRecord, str]:
        """A new webhook for `principal` at `url` and its signing secret (shown once; kept sealed
        by `secrets`, since Concord signs each delivery with it); InvalidInput for a URL it
        cannot call, Refusal (webhook_limit) when `principal` has `limit` webhooks in use."""
        webhook_id, secret = new_webhook()
        async with self._backend.writing() as connection:
            record = await insert_webhook(
                connection, webhook_id, secrets.seal(webhook_id, secret), principal, url, by, limit
            )
        return record, secret

    async def get(self, webhook_id: str) -> WebhookRecord:
        """The webhook (removed or not); NotFound when there is none."""
        async with self._backend.reading() as connection:
            return await webhook_by_id(connection, webhook_id)

    async def signing(self, webhook_id: str, secrets: WebhookSecrets) -> tuple[WebhookRecord, str]:
        """The webhook and its signing secret, opened by `secrets`, for a delivery; NotFound when
        there is none, Fault when the secret does not open."""
        async with self._backend.reading() as connection:
            return await signing_webhook(connection, webhook_id, secrets)

    async def seal_secrets(self, secrets: WebhookSecrets) -> int:
        """Seal the signing secrets written as is before they were sealed; how many were."""
        async with self._backend.writing() as connection:
            return await seal_plaintext(connection, secrets)

    async def in_use(self, principal: str | None = None) -> list[WebhookRecord]:
        """The webhooks not removed (of one principal, if given), oldest first; no secrets."""
        async with self._backend.reading() as connection:
            return await active_webhooks(connection, principal)

    async def remove(self, webhook_id: str) -> WebhookRecord:
        """Remove a webhook: no delivery starts for it, and its pending ones stop; again changes
        nothing. NotFound when there is none."""
        async with self._backend.writing() as connection:
            return await disable(connection, webhook_id)

    async def record_attempt(self, attempt: DeliveryAttempt) -> DeliveryRecord:
        """Keep one delivery attempt's outcome on its delivery's row."""
        async with self._backend.writing() as connection:
            return await record_attempt(connection, attempt)

    async def delivery(self, delivery_id: str) -> DeliveryRecord | None:
        """The delivery `delivery_id` names, with its latest attempt; None when there is none."""
        async with self._backend.reading() as connection:
            return await delivery_by_id(connection, delivery_id)

    async def deliveries(
        self, webhook_id: str | None = None, limit: int = 100
    ) -> list[DeliveryRecord]:
        """Up to `limit` webhook deliveries (to one webhook, if given), latest attempt first."""
        async with self._backend.reading() as connection:
            return await recent_deliveries(connection, webhook_id, limit)
