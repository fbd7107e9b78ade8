"""The API served by uvicorn inside Concord's own event loop (`concord dev`, `concord api`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

from domain.errors import Unavailable
from runtime.devserver import require_free


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the process's stop event stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(app: FastAPI, host: str, port: int) -> AsyncIterator[EmbeddedServer]:
    """The API listening on host:port until the block ends; Unavailable if it cannot listen."""
    require_free(host, port, "the API")
    # httptools, uvicorn's C parser: a fifth less of the API's CPU a request than h11's
    # (docs/benchmarks.md); named, so that an installation without it fails to start, not slows.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http="httptools",
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # the exception it ended with, if any
            raise Unavailable(f"the API could not listen on {host}:{port}")
        await asyncio.sleep(0.05)
    try:
        yield server
    finally:
        server.should_exit = True
        await task
