"""Runs the Temporal worker of Concord's decision workflows until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio

import structlog

from domain.errors import ConcordError
from runtime.bootstrap import run_worker
from runtime.logging import configure_logging
from runtime.process import leave
from runtime.settings import load_settings

log = structlog.get_logger(__name__)


def main() -> None:
    """Run one worker; a graceful stop (SIGTERM, SIGINT) ends with exit 0 once it is drained."""
    try:
        settings = load_settings()
        configure_logging(settings.log_format)
        asyncio.run(run_worker(settings))
    except ConcordError as error:
        log.error("worker cannot run", error=error.line())
        leave(error.exit_code)
    log.info("worker stopped")
    leave(0)


if __name__ == "__main__":
    main()
