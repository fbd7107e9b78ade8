"""What one request and one token may ask: body size, page size, request rate (see README)."""

from __future__ import annotations

import math
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
    failures_per_second: float = 1.0
    """How fast one client address may go on presenting bad tokens or sessions, per process."""
    failure_burst: int = 20
    """How many bad tokens one client address may present at once before that rate applies."""


@dataclass
class RateLimiter:
    """A token bucket per access token: `burst` at once, refilled at `rate` per second."""

    rate: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str) -> None:
        """Take one request of `key`'s bucket; RateLimited, saying when to come back, when it
        is empty."""
        tokens, now = self._level(key)
        if tokens < 1:
            raise RateLimited(
                f"more than {self.rate:g} requests per second (bursts of {self.burst}) for "
                "this token; retry shortly",
                retry_after=math.ceil((1 - tokens) / self.rate),
            )
        self._buckets[key] = (tokens - 1, now)
        if len(self._buckets) > 100_000:  # keys seen long ago are full again: forget them
            self._buckets = {
                k: v for k, v in self._buckets.items() if now - v[1] < self.burst / self.rate
            }

    def check(self, key: str, what: str) -> None:
        """RateLimited if `key`'s bucket is empty; takes nothing (`take` does, on a failure)."""
        tokens, _ = self._level(key)
        if tokens < 1:
            raise RateLimited(
                f"more than {self.burst} {what} from this address; retry later",
                retry_after=math.ceil((1 - tokens) / self.rate),
            )

    def _level(self, key: str) -> tuple[float, float]:
        now = time.monotonic()
        tokens, since = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - since) * self.rate), now


class BodyLimit:
    """Refuses a body over the limit (413) before the route reads it, whatever it declares: a
    body sent without a length (chunked) is read here first, at most the limit, and handed on
    whole, so the refusal never reaches a route as a half-read body."""

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
        if declared is not None:
            await self.app(scope, self._counted(receive), send)
            return
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            received += len(chunks[-1])
            if received > self.limit:
                await respond(self._too_large())(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        handed = False

        async def whole() -> Message:
            nonlocal handed
            if not handed:
                handed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, whole, send)

    def _counted(self, receive: Receive) -> Receive:
        """`receive`, refusing a body longer than the length it declared (within the limit)."""
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise self._too_large()
            return message

        return limited

    def _too_large(self) -> TooLarge:
        return TooLarge(f"the body is larger than the limit of {self.limit} bytes")
