"""Webhooks over the API: a delegation registers its own endpoint, the secretariat any member's
or its own; each is told, signed, of the notable events that concern it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Authenticated
from api.errors import ERRORS, REFUSED
from api.principals import Caller, Role
from api.services import Found
from domain.errors import Forbidden
from domain.roster import RosterBook
from store.councils import Councils
from store.webhooks import MAX_URL_LENGTH, WebhookRecord, participant_principal

WebhookPath = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="The webhook's id.")]


class WebhookRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(
        max_length=MAX_URL_LENGTH,
        description="Where Concord POSTs the events: an http:// or https:// URL without a user "
        "name or password, whose host has only addresses webhooks may reach.",
    )
    member: str | None = Field(
        default=None,
        pattern=r"^[A-Z][A-Z0-9-]{1,31}$",
        description="Operators only: the member (or body) it serves; without it, the "
        "secretariat. A member's token registers for itself.",
    )


class RegisteredWebhook(WebhookRecord):
    secret: str
    """Signs every delivery (`Concord-Signature`): shown only now, keep it."""


class WebhookList(BaseModel):
    model_config = ConfigDict(frozen=True)

    webhooks: list[WebhookRecord]


def served_principal(caller: Caller, member: str | None, rosters: RosterBook) -> str:
    """Whom a webhook `caller` registers serves: a member only itself, an operator any member
    or body of the Council (or, without one, its own principal), an auditor none."""
    if caller.role is Role.AUDITOR:
        raise Forbidden("an auditor's token reads and verifies; it cannot register webhooks")
    if caller.role is Role.MEMBER:
        if member not in (None, caller.name):
            raise Forbidden(f"member {caller.name} registers webhooks for itself, not {member}")
        return caller.principal
    return participant_principal(member, rosters) if member else caller.principal


def may_remove(caller: Caller, webhook: WebhookRecord) -> None:
    if caller.role is Role.AUDITOR:
        raise Forbidden("an auditor's token reads and verifies; it cannot remove webhooks")
    if caller.role is Role.MEMBER and webhook.principal != caller.principal:
        raise Forbidden(f"member {caller.name} removes only its own webhooks")


def router() -> APIRouter:
    routes = APIRouter(responses=ERRORS, tags=["webhooks"])

    @routes.post("/webhooks", response_model=RegisteredWebhook, status_code=201, responses=REFUSED)
    async def register(
        body: WebhookRequest, caller: Authenticated, found: Found
    ) -> RegisteredWebhook:
        """Register an endpoint told of the notable events that concern its principal (an
        operator's, of every one); the answer holds its signing secret, shown only once. A URL
        whose host is, or resolves to, a loopback, private, link-local or reserved address is
        refused (422) unless the installation allows its network; a principal with as many
        webhooks as it may have is refused (409, `webhook_limit`)."""
        rosters = await Councils(found.store).roster_book()
        principal = served_principal(caller, body.member, rosters)
        record, secret = await found.webhooks.register(
            found.store, principal, body.url, caller.principal
        )
        return RegisteredWebhook(**record.model_dump(), secret=secret)

    @routes.get("/webhooks", response_model=WebhookList)
    async def listed(caller: Authenticated, found: Found) -> WebhookList:
        """The webhooks in use: a member's own; every one for the secretariat and auditors.
        Never their secrets."""
        mine = caller.principal if caller.role is Role.MEMBER else None
        return WebhookList(webhooks=await found.store.webhooks.in_use(mine))

    @routes.delete("/webhooks/{webhook_id}", response_model=WebhookRecord)
    async def remove(webhook_id: WebhookPath, caller: Authenticated, found: Found) -> WebhookRecord:
        """Remove a webhook: nothing more is sent to it, and its pending deliveries stop."""
        may_remove(caller, await found.store.webhooks.get(webhook_id))
        return await found.store.webhooks.remove(webhook_id)

    return routes
