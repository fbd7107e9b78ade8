"""How a Concord process ends: SIGTERM or SIGINT asks it to stop gracefully; then its logs and
output are flushed and it exits with its code, nothing else."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import asyncio


def stop_on_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set `stop`: a graceful stop drains, then the process exits 0."""
    import asyncio  # every `concord` imports this module; only those running a loop need it

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def leave(code: int) -> NoReturn:
    """Flush logs and output, then end the process with `code` without the interpreter's
    finalisation.

    The Temporal SDK's native threads can outlive finalisation and abort it (SIGABRT,
    "PyGILState_Release: thread state must be current", temporalio/sdk-python#300), so a
    process whose work is drained and closed would otherwise, now and then, end as a crash.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe: there is nobody left to read it.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
