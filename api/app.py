"""The API's application: its routes, error documents, limits and access log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Final

import structlog
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from api import commands, council, errors, keys, log, operations, reads, webhooks
from api.limits import BodyLimit
from api.operations import UNMATCHED, ApiMetrics, Health
from api.portal import pages, routes
from api.services import Services

access_log = structlog.get_logger("concord.api.access")

DESCRIPTION = """\
Concord's HTTP API: each delegation, the secretariat and the auditors act on their own channel,
each with its own access token (`concord tokens issue`). A member's token acts only in that
member's name; an operator's token gives the chair's commands and may record on a member's
behalf (`actor` in the body); an auditor's token reads and verifies. Every error is
`{"error": {"code", "message", "field"}}`; a refusal by the procedure's rules is 409 with the
rule's code, and is kept in the refusals log.
"""


STRICT_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)
"""What every page may load and do: only its own scripts, styles and forms, never framed."""
DOCS_POLICY: Final = STRICT_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
"""/docs: Swagger UI sets styles on its elements; its scripts are still only the package's."""
HSTS: Final = "max-age=31536000; includeSubDomains"
DOCS: Final = Path(__file__).parent / "docs"


class SecurityHeaders:
    """Every response says what the browser may do with it: a strict Content-Security-Policy,
    no framing, no sniffing, no referrer; over TLS, HSTS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"].startswith("/docs") else STRICT_POLICY
        secure = scope.get("scheme") == "https"

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if secure:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, sending)


class AccessLog:
    """One structured record per request: principal, decision, outcome, latency; never the
    token (headers are not logged) nor the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", UNMATCHED)
            metrics: ApiMetrics | None = getattr(scope["app"].state, "metrics", None)
            if metrics is not None:
                metrics.answered(scope["method"], route, status, seconds)
            state: dict[str, Any] = scope.get("state") or {}
            params: dict[str, Any] = scope.get("path_params") or {}
            access_log.info(
                "api request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                latency_ms=round(seconds * 1000, 2),
                principal=state.get("principal"),
                decision_id=params.get("decision_id"),
            )


def create_app(found: Services) -> FastAPI:
    app = FastAPI(
        title="Concord",
        summary="Joint decisions taken by consensus, as durable workflows on an audited log.",
        description=DESCRIPTION,
        version="1.0",
        docs_url=None,
        redoc_url=None,
        # Concord's own metrics and access log observe the API. FastAPI's OpenTelemetry,
        # left on, looks for a tracer, a meter and a logger provider at every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.services = found
    app.state.metrics = ApiMetrics()
    app.state.metrics_elsewhere = False
    errors.install(app, pages.problem_page)
    app.include_router(commands.router())
    app.include_router(reads.router())
    app.include_router(council.router())
    app.include_router(keys.router())
    app.include_router(log.router())
    app.include_router(webhooks.router())
    app.include_router(routes.router())
    app.include_router(operations.router())
    app.mount("/portal/static", StaticFiles(directory=pages.STATIC), name="portal-static")
    app.mount("/docs/assets", StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> FileResponse:
        """The API's interactive documentation (Swagger UI from the installed package)."""
        return FileResponse(DOCS / "index.html", media_type="text/html")

    @app.get("/docs/concord.js", include_in_schema=False)
    async def docs_script() -> FileResponse:
        return FileResponse(DOCS / "docs.js", media_type="text/javascript")

    @app.get("/health", response_model=Health, tags=["service"])
    async def health() -> Health:
        """The API answers (no token needed); the same as `/healthz`."""
        return Health(status="ok")

    app.add_middleware(BodyLimit, limit=found.limits.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)
    return app
