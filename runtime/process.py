"""How a Concord process ends: its logs and output flushed, then its exit code, nothing else."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import NoReturn


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
