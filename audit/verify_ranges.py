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
from store.backends import LogPages
from store.eventstore import EventStore, open_store

_SILENCE_LIMIT_SECONDS: Final = 60.0
_POLL_SECONDS: Final = 1.0
WORKER_START: Final = 64 * 1024
"""About the events one core checks while a worker process starts (0.8 s of imports)."""


async def check_in_processes(
    store: EventStore,
    snapshot: LogPages,
    workers: int,
    progress: Callable[[int], None] | None,
) -> list[RangeOutcome]:
    """Split the log at its current head into `workers` ranges, the last open-ended, and check
    them in parallel: the first ones in worker processes, the last in this one (in `snapshot`),
    longer by what it checks while they start; their outcomes in position order."""
    head_position, _ = await snapshot.head()
    head_start = WORKER_START if head_position >= 4 * WORKER_START * workers else 0
    size = max(1, (head_position - head_start) // workers)
    starts = [1 + index * size for index in range(workers)]
    bounds = [(start, start + size - 1) for start in starts[:-1]]
    counts = [0] * workers
    loop = asyncio.get_running_loop()

    def report(index: int, count: int) -> None:
        counts[index] = count
        if progress is not None:
            loop.call_soon_threadsafe(progress, sum(counts))

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
    try:
        outcomes, last = await asyncio.gather(
            asyncio.to_thread(_collect, messages, processes, report),
            check_range(snapshot, starts[-1], None, lambda n: report(workers - 1, n)),
        )
        return [*outcomes, last]
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def _collect(
    messages: Any, processes: Sequence[BaseProcess], report: Callable[[int, int], None]
) -> list[RangeOutcome]:
    outcomes: dict[int, RangeOutcome] = {}
    silent = 0.0
    while len(outcomes) < len(processes):
        try:
            kind, index, content = messages.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            silent += _POLL_SECONDS
            for index, process in enumerate(processes):
                if index not in outcomes and process.exitcode is not None:
                    raise Unavailable(
                        f"verification worker {index} exited with code {process.exitcode}"
                    ) from None
            if silent >= _SILENCE_LIMIT_SECONDS:
                raise Unavailable("a verification worker went silent for a minute") from None
            continue
        silent = 0.0
        if kind == "progress":
            report(index, content)
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
