"""A witness over HTTP (C2SP tlog-witness): `POST /add-checkpoint` cosigns a log's checkpoint
that extends the one it last cosigned, and answers the spec's statuses otherwise. The witness
is its own service, with its own key and state, run by someone other than the log's operator
(`concord witness serve`)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from api.server import serving
from audit.witness import Submission, WitnessRefusal, WitnessService

log = structlog.get_logger(__name__)

MAX_REQUEST: Final = 65_536
"""An old size, at most 63 proof lines and a checkpoint with its signatures fit many times."""
SIZE_TYPE: Final = "text/x.tlog.size"


def witness_app(service: WitnessService, clock: Callable[[], float] = time.time) -> FastAPI:
    app = FastAPI(title="Concord witness", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/")
    async def key() -> Response:
        """The witness's cosigner key (name+id+key, cosignature/v1)."""
        return PlainTextResponse(service.key.encode() + "\n")

    @app.post("/add-checkpoint")
    async def add_checkpoint(request: Request) -> Response:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST:
                return PlainTextResponse(f"a request is at most {MAX_REQUEST} bytes\n", 413)
        try:
            submission = Submission.parse(bytes(body))
            cosignatures = await run_in_threadpool(service.add_checkpoint, submission, int(clock()))
        except WitnessRefusal as refusal:
            if refusal.status in (409, 422):
                log.warning("checkpoint refused", status=refusal.status, reason=refusal.message)
            if refusal.status == 409 and refusal.size is not None:
                return PlainTextResponse(f"{refusal.size}\n", 409, media_type=SIZE_TYPE)
            return PlainTextResponse(refusal.message + "\n", refusal.status)
        return PlainTextResponse("".join(s.line() for s in cosignatures))

    return app


async def serve_witness(service: WitnessService, host: str, port: int, stop: asyncio.Event) -> None:
    """The witness listening on host:port until `stop` is set."""
    async with serving(witness_app(service), host, port):
        log.info("witness running", address=f"http://{host}:{port}", key=service.key.encode())
        await stop.wait()
    log.info("witness stopped")
