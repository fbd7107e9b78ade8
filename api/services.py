"""What the API's routes use: the decisions' client, the event store, the token book, limits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from api.limits import Limits, RateLimiter
from api.portal.sessions import Sessions
from api.principals import TokenBook
from audit.note import Signer
from runtime.commands import Commands
from store.eventstore import EventStore


@dataclass
class Services:
    commands: Commands
    store: EventStore
    tokens: TokenBook
    limits: Limits = field(default_factory=Limits)
    signer: Signer | None = None
    """The log's signing key, when the installation has one: the API serves checkpoints."""
    origin: str = "concord.local/log"
    sessions: Sessions = field(default_factory=lambda: Sessions(secrets.token_bytes(32)))
    """The portal's sessions (by default under a key of this process alone)."""
    rate: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.rate = RateLimiter(self.limits.requests_per_second, self.limits.burst)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


Found = Annotated[Services, Depends(services)]
"""A route's parameter for the application's services."""
