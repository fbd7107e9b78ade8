"""What the API's routes use: the decisions' client, the event store, the token book, limits."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from api.errors import RateLimited
from api.limits import Limits, RateLimiter
from api.portal.sessions import SignIns
from api.principals import Caller, TokenBook
from api.verifying import Verification
from audit.cosigning import WitnessPolicy
from audit.note import Signer
from domain.errors import Unauthenticated
from runtime.commands import Commands
from runtime.settings import DEFAULT_ORIGIN
from runtime.webhooks import WebhookRegistration
from store.eventstore import EventStore


@dataclass
class Services:
    commands: Commands
    store: EventStore
    tokens: TokenBook
    limits: Limits = field(default_factory=Limits)
    signer: Signer | None = None
    """The log's signing key, when the installation has one: the API serves checkpoints."""
    origin: str = DEFAULT_ORIGIN
    witnesses: WitnessPolicy | None = None
    """The log's witnesses: with them, the checkpoint served is the latest published, with the
    cosignatures they gave it."""
    webhooks: WebhookRegistration = field(default_factory=WebhookRegistration)
    """How webhooks are registered: addresses checked, a limit per principal, secrets sealed (by
    default under a key of this process alone)."""
    portal_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    """The installation's portal key (by default one of this process alone)."""
    sign_ins: SignIns = field(init=False)
    """The portal's sign-in form's CSRF check (its sessions are the store's)."""
    rate: RateLimiter = field(init=False)
    """Each token's requests, the portal's with the API's."""
    failures: RateLimiter = field(init=False)
    """Each client address's bad tokens and sessions, counted before any is accepted."""
    verification: Verification = field(init=False)
    """The whole log's verification, off the event loop and one at a time."""

    def __post_init__(self) -> None:
        self.sign_ins = SignIns(self.portal_key)
        self.rate = RateLimiter(self.limits.requests_per_second, self.limits.burst)
        self.failures = RateLimiter(self.limits.failures_per_second, self.limits.failure_burst)
        self.verification = Verification(self.store.url, self.origin)

    async def caller_at(self, request: Request, check: Callable[[], Awaitable[Caller]]) -> Caller:
        """The caller `check` finds, counted against the token's rate; an address that has
        presented too many bad tokens or sessions lately is refused (429) before its next one
        is looked at, and each Unauthenticated counts against it."""
        address = request.client.host if request.client else "unknown"
        what = "requests without a valid token or session"
        self.failures.check(address, what)
        try:
            caller = await check()
        except Unauthenticated:
            with contextlib.suppress(RateLimited):
                self.failures.take(address)
            raise
        self.rate.take(caller.token_id)
        request.state.principal = caller.principal
        return caller


def services_of(request: Request) -> Services:
    """The services of the application that serves `request`."""
    found: Services = request.app.state.services
    return found


async def services(request: Request) -> Services:
    """The application's services, as a dependency (a coroutine: FastAPI runs a plain function
    given to Depends on its thread pool, a hop between threads at every request)."""
    return services_of(request)


Found = Annotated[Services, Depends(services)]
"""A route's parameter for the application's services."""
