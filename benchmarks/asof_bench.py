"""Point in time: a decision's state as of an instant, rebuilt from its events, for decisions of
1,000 and 10,000 events (a planned decision whose members keep reporting progress).

Run by hand (not a test):
    .venv/bin/python benchmarks/asof_bench.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from audit.asof import state_as_of
from audit.note import Signer
from audit.snapshots import state_at
from store.decision_events import new_event
from store.eventstore import open_store
from store.migrate import upgrade
from tests.unit.domain.scenario import Scenario


async def bench() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/concord.db"
        await upgrade(url)
        store = await open_store(url)
        key = Signer.generate("bench.example/concord")
        try:
            for total in (1_000, 10_000):
                scenario = Scenario(f"d-asof-{total}").planned()
                members = scenario.s.rounds[0].members
                while len(scenario.events) < total:
                    if len(scenario.events) % 100 == 0:
                        scenario.advance(hours=1)
                    member = members[len(scenario.events) % len(members)]
                    scenario.do("report_progress", member, item_id="A1", summary="Part done")
                records = [new_event(e) for e in scenario.events]
                for start in range(0, len(records), 500):
                    await store.append(scenario.decision_id, start, records[start : start + 500])
                middle = scenario.events[len(scenario.events) // 2].occurred_at
                last = scenario.events[-1].occurred_at
                for label, instant in (("half-way", middle), ("last", last)):
                    times = []
                    for _ in range(10):
                        started = time.perf_counter()
                        state, events = await state_as_of(store, scenario.decision_id, instant)
                        times.append(time.perf_counter() - started)
                    assert state is not None
                    key_times = []
                    for _ in range(10):
                        started = time.perf_counter()
                        at, used = await state_at(store, scenario.decision_id, instant, key)
                        key_times.append(time.perf_counter() - started)
                    assert at == state
                    print(
                        f"as-of of a {len(records):,}-event decision at its {label} instant "
                        f"({len(events):,} events): every event folded, p50 "
                        f"{statistics.median(times) * 1000:.0f} ms; from the signed snapshot at "
                        f"v{used}, p50 {statistics.median(key_times[1:]) * 1000:.1f} ms (the "
                        f"first call, which folds and keeps them, {key_times[0] * 1000:.0f} ms)"
                    )
        finally:
            await store.close()


if __name__ == "__main__":
    asyncio.run(bench())
