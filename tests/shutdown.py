"""Fixtures' shutdowns, bounded: what does not stop within seconds fails its test, named."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Final, TypeVar

T = TypeVar("T")

STOP_WITHIN_S: Final = 30.0
"""Every fixture's resource stops in well under a second; thirty leave room for a loaded machine,
and a shutdown that hangs fails its test instead of the whole run at pytest's timeout."""


async def stopped(what: str, shutdown: Awaitable[T], within: float = STOP_WITHIN_S) -> T:
    """Await `shutdown`, the stopping of `what`, at most `within` seconds; past them, raise
    TimeoutError naming `what` (its cause shows where the shutdown was waiting)."""
    scope = asyncio.timeout(within)
    try:
        async with scope:
            return await shutdown
    except TimeoutError as late:
        if not scope.expired():
            raise
        raise TimeoutError(f"{what} did not shut down within {within:g} s") from late


@asynccontextmanager
async def bounded(
    what: str, resource: AbstractAsyncContextManager[T], within: float = STOP_WITHIN_S
) -> AsyncIterator[T]:
    """`resource` entered as `async with` enters it; its exit bounded as `stopped` bounds it."""
    entered = await resource.__aenter__()
    try:
        yield entered
    except BaseException as error:
        exit = resource.__aexit__(type(error), error, error.__traceback__)
        if not await stopped(what, exit, within):
            raise
    else:
        await stopped(what, resource.__aexit__(None, None, None), within)
