"""What operators watch the API by: liveness, readiness (Temporal, the event store and its
schema), and Prometheus metrics of its requests and refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Final, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from pydantic import BaseModel

from api.auth import Authenticated
from api.errors import RETRY_AFTER_S
from api.principals import may_audit
from api.services import Found
from domain.errors import ConcordError, NotFound

CHECK_TIMEOUT_S: Final = 2.0
"""A readiness check that takes longer than this fails: a probe must answer promptly."""
UNMATCHED: Final = "unmatched"
"""The route label of requests no route matched (their paths are not labels: unbounded)."""
LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, str]
    """Each dependency: "ok", or what is wrong with it."""


class ApiMetrics:
    """The API's own metrics, in a registry of its own (one per application)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "concord_api_requests",
            "HTTP requests answered, by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "concord_api_request_seconds",
            "Time to answer an HTTP request, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.refusals = Counter(
            "concord_api_refusals",
            "Requests refused, by the rule (or the kind of error) that refused them.",
            ["rule"],
            registry=self.registry,
        )

    def answered(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def refused(self, error: ConcordError) -> None:
        rule = getattr(error, "rule", None)
        self.refusals.labels(rule=rule.value if rule is not None else error.kind).inc()


async def _checked(check: Awaitable[object]) -> str:
    try:
        await asyncio.wait_for(check, CHECK_TIMEOUT_S)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_S:g} s"
    except ConcordError as error:
        return error.message
    except Exception as error:  # a probe reports what is wrong; it never fails itself
        return f"{type(error).__name__}: {error}"
    return "ok"


def router() -> APIRouter:
    routes = APIRouter(tags=["service"])

    @routes.get("/healthz", response_model=Health)
    async def healthz() -> Health:
        """Liveness: the API process answers (no token needed)."""
        return Health(status="ok")

    @routes.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "A dependency is not ready."}},
    )
    async def readyz(found: Found) -> JSONResponse:
        """Readiness: Temporal answers, and so does the event store, at this code's schema
        revision (no token needed). 503 with `Retry-After` and what is wrong otherwise."""
        temporal = found.commands.decisions.temporal.service_client.check_health()
        checks = {
            "temporal": await _checked(temporal),
            "event_store": await _checked(found.store.check_ready()),
        }
        ready = all(outcome == "ok" for outcome in checks.values())
        document = Readiness(status="ready" if ready else "not ready", checks=checks)
        return JSONResponse(
            document.model_dump(),
            status_code=200 if ready else 503,
            headers=None if ready else {"Retry-After": RETRY_AFTER_S},
        )

    @routes.get(
        "/metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text."}},
    )
    async def metrics(request: Request, caller: Authenticated) -> PlainTextResponse:
        """The API's metrics in Prometheus' text format, for the secretariat's and the
        auditors' tokens (or on a port of their own: CONCORD_API_METRICS_PORT)."""
        may_audit(caller)
        if request.app.state.metrics_elsewhere:
            raise NotFound("the API's metrics are served on a port of their own")
        registry = request.app.state.metrics.registry
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return routes
