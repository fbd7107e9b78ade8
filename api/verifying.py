"""Whole-log verification for the API and the portal: in a thread of its own (seconds of hashing
at a million events, which must not stall every other request on the event loop), and one at a
time per process (a second asker is told to come back, 429)."""

from __future__ import annotations

import asyncio
from typing import Final

from api.errors import RateLimited
from audit.verify import VerificationReport, verify_log
from store.eventstore import open_store

BUSY_RETRY_S: Final = 10


class Verification:
    """Verifies the log at `url` on request, off the event loop, one verification at a time."""

    def __init__(self, url: str, origin: str | None = None) -> None:
        self._url = url
        self._origin = origin
        self._running = asyncio.Lock()

    async def report(self) -> VerificationReport:
        """The report of a whole verification run now; RateLimited while another runs."""
        if self._running.locked():
            raise RateLimited(
                "a verification of the whole log is running already: its report will be "
                "current when it ends",
                retry_after=BUSY_RETRY_S,
            )
        async with self._running:
            return await asyncio.to_thread(asyncio.run, _verified(self._url, self._origin))


async def _verified(url: str, origin: str | None) -> VerificationReport:
    store = await open_store(url)
    try:
        return await verify_log(store, workers=1, origin=origin)
    finally:
        await store.close()
