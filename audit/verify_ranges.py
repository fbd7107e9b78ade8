"""Verification of a large log by position ranges, each in its own worker process."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from typing import Any, Final

from audit.chain_check import RangeOutcome, check_range
from domain.errors import Unavailable
from store.eventstore import EventStore, open_store

_SILENCE_LIMIT_SECONDS: Final = 60.0


async def check_in_processes(
    store: EventStore, workers: int, progress: Callable[[int], None] | None
) -> list[RangeOutcome]:
    """Split the log at its current head into `workers` ranges, the last open-ended, and
    check them in parallel processes; their outcomes in position order."""
    head_position, _ = await store.head()
    size = max(1, head_position // workers)
    starts = [1 + index * size for index in range(workers)]
    bounds = [
        (start, starts[index + 1] - 1 if index + 1 < len(starts) else None)
        for index, start in enumerate(starts)
    ]
    url = store.url
    # Spawned, not forked: the parent runs an event loop and driver threads.
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    processes = [
        context.Process(target=_check_range_in_process, args=(url, start, last, index, messages))
        for index, (start, last) in enumerate(bounds)
    ]
    for process in processes:
        process.start()
    loop = asyncio.get_running_loop()

    def report(count: int) -> None:
        if progress is not None:
            loop.call_soon_threadsafe(progress, count)

    try:
        return await asyncio.to_thread(_collect, messages, processes, report)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def _collect(
    messages: Any, processes: Sequence[BaseProcess], report: Callable[[int], None]
) -> list[RangeOutcome]:
    counts = [0] * len(processes)
    outcomes: dict[int, RangeOutcome] = {}
    while len(outcomes) < len(processes):
        try:
            kind, index, content = messages.get(timeout=_SILENCE_LIMIT_SECONDS)
        except queue.Empty:
            raise Unavailable("a verification worker went silent for a minute") from None
        if kind == "progress":
            counts[index] = content
            report(sum(counts))
        elif kind == "done":
            outcomes[index] = content
        else:
            raise Unavailable(f"verification worker {index} failed: {content}")
    return [outcomes[index] for index in range(len(processes))]


def _check_range_in_process(
    url: str, start: int, last: int | None, index: int, messages: Any
) -> None:
    try:
        outcome = asyncio.run(_check_range(url, start, last, index, messages))
    except BaseException as error:
        messages.put(("error", index, f"{type(error).__name__}: {error}"))
        raise
    messages.put(("done", index, outcome))


async def _check_range(
    url: str, start: int, last: int | None, index: int, messages: Any
) -> RangeOutcome:
    store = await open_store(url, check_schema=False)
    try:
        async with store.snapshot() as snapshot:
            return await check_range(
                snapshot, start, last, lambda count: messages.put(("progress", index, count))
            )
    finally:
        await store.close()
