"""What one request and one token may ask: body size, page size, request rate (see README)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import RateLimited, TooLarge, respond

MAX_BODY_BYTES: Final = 1_048_576
"""1 MiB: the longest text (200,000 characters) in UTF-8 and JSON, with room to spare."""
MAX_PAGE: Final = 200
DEFAULT_PAGE: Final = 50


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = MAX_BODY_BYTES
    requests_per_second: float = 50.0
    """Each token's sustained rate, per API process."""
    burst: int = 100
    """How many requests a token may make at once before the rate applies."""


@dataclass
class RateLimiter:
    """A token bucket per access token: `burst` at once, refilled at `rate` per second."""

    rate: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, token_id: str) -> None:
        now = time.monotonic()
        tokens, since = self._buckets.get(token_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - since) * self.rate)
        if tokens < 1:
            raise RateLimited(
                f"more than {self.rate:g} requests per second (bursts of {self.burst}) "
                "for this token; retry shortly"
            )
        self._buckets[token_id] = (tokens - 1, now)
        if len(self._buckets) > 100_000:  # tokens seen long ago are full again: forget them
            self._buckets = {
                k: v for k, v in self._buckets.items() if now - v[1] < self.burst / self.rate
            }


class BodyLimit:
    """Refuses a body over the limit (413) before the route reads it, whatever it declares."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await respond(self._too_large())(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise self._too_large()
            return message

        await self.app(scope, limited, send)

    def _too_large(self) -> TooLarge:
        return TooLarge(f"the body is larger than the limit of {self.limit} bytes")
