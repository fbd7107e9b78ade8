"""Waiting, bounded, for what a process beside the test does in its own time (the projector
following the log, a run archiving the run before it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


async def until(holds: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Wait (`within` seconds at most) until `holds()` answers true; fail the test past them."""
    deadline = time.monotonic() + within
    while not await holds():
        assert time.monotonic() < deadline, f"never got there within {within:g} s"
        await asyncio.sleep(0.05)
