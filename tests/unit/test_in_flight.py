"""The per-decision limit on commands in flight: at most ten at once, nothing kept afterwards."""

from __future__ import annotations

import asyncio

from runtime.decisions import MAX_IN_FLIGHT, InFlightLimit


async def test_at_most_the_limit_run_at_once_per_decision_and_no_entry_outlives_its_calls() -> None:
    limit = InFlightLimit(MAX_IN_FLIGHT)
    running = peak = 0

    async def command(decision_id: str) -> None:
        nonlocal running, peak
        async with limit.slot(decision_id):
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            running -= 1

    await asyncio.gather(*(command("d-1") for _ in range(35)))
    assert peak == MAX_IN_FLIGHT
    await asyncio.gather(*(command(f"d-{n}") for n in range(500)))
    assert len(limit) == 0, "a long-lived process keeps nothing for decisions it served"
