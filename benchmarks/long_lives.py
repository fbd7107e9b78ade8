"""Long lives benchmark: one decision with thousands of progress reports, and a thousand open
decisions held in one worker's cache, on the real dev server with Concord's worker a process of
its own (the stack of benchmarks/lifecycle.py).

  (a) a decision in implementation takes N progress reports, 50 at a time: its runs (each
      continued as new before its history grows long), the longest run's Temporal history,
      and `status` (the workflow query the CLI and the API use), p50/p95 over 200 calls with
      the decision cached, and the first call after its worker was replaced, which replays the
      current run;
  (b) M decisions, each with a round open and its members' answers pending, all cached by one
      worker: the worker's RSS before and after, and per decision.

It prints, and writes to docs/benchmarks.md (between its markers), the figures with the
machine and the command. Run by hand:
    .venv/bin/python benchmarks/long_lives.py --reports 10000 --open 1000
    .venv/bin/python benchmarks/long_lives.py --smoke        # seconds; what the suite runs
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from lifecycle import MEMBERS, Stack, concord_round_open, concur, restarted_worker, stack
from sections import store_and_size_options, write_run

from domain.commands import command_of
from store.eventstore import EventStore, open_store
from store.states import LogReads, state_now

PLAN_ITEMS = [
    {"item_id": "A1", "description": "Exchange", "assignee": {"kind": "member", "code": "RUS"}}
]
FAR = "2099-01-01T00:00:00Z"
TARGET_MS = 50.0
RSS_TARGET_MIB = 1024.0


def quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100)[q - 1]


async def status_ms(s: Stack, decision_id: str) -> float:
    started = time.perf_counter()
    await s.decisions.status(decision_id)
    return (time.perf_counter() - started) * 1000


async def read_ms(store: EventStore, decision_id: str) -> float:
    started = time.perf_counter()
    state = await state_now(LogReads(store), decision_id)
    assert state is not None
    return (time.perf_counter() - started) * 1000


async def long_decision(s: Stack, reports: int, queries: int) -> list[str]:
    decision_id = f"long-{uuid.uuid4().hex[:6]}"
    text_hash = await concord_round_open(s, decision_id, [])
    await asyncio.gather(*(concur(s, decision_id, member, text_hash) for member in MEMBERS))
    await s.decisions.execute(
        command_of(
            "plan_implementation",
            decision_id,
            "chair",
            action_items=PLAN_ITEMS,
            report_back_deadline=FAR,
        )
    )
    started = time.perf_counter()
    for first in range(0, reports, 50):
        await asyncio.gather(
            *(
                s.decisions.execute(
                    command_of(
                        "report_progress", decision_id, "RUS", item_id="A1", summary=f"Report {n}"
                    )
                )
                for n in range(first, min(first + 50, reports))
            )
        )
    seconds = time.perf_counter() - started
    status = await s.decisions.status(decision_id)
    assert status.state is not None and status.state.plan is not None
    assert status.state.plan.progress_reports == reports, status.state.plan.progress_reports
    warm = [await status_ms(s, decision_id) for _ in range(queries)]
    histories = []
    async for execution in s.client.list_workflows(f"WorkflowId = 'decision-{decision_id}'"):
        handle = s.client.get_workflow_handle(execution.id, run_id=execution.run_id)
        info = (await handle.describe()).raw_description.workflow_execution_info
        histories.append(info.history_length)
    await asyncio.sleep(1.5)  # the projector's interval, thrice: the read model has caught up
    store = await open_store(s.store_url)
    try:
        read = [await read_ms(store, decision_id) for _ in range(queries)]
    finally:
        await store.close()
    await restarted_worker(s)
    cold = await status_ms(s, decision_id)
    later = [await status_ms(s, decision_id) for _ in range(queries)]

    def verdict(values: list[float]) -> str:
        met = "met" if quantile(values, 95) <= TARGET_MS else "NOT met"
        return f"target ≤ {TARGET_MS:.0f} ms: {met}"

    def spread(values: list[float]) -> str:
        return f"{quantile(values, 50):.1f} / {quantile(values, 95):.1f} ms"

    return [
        f"| progress reports | {reports:,} ({reports / seconds:,.0f}/s, 50 at a time) |",
        f"| runs (continue-as-new) | {len(histories)} |",
        f"| longest run's history | {max(histories):,} events |",
        f"| state from the read model and the log (API, CLI): p50 / p95 | {spread(read)} "
        f"({verdict(read)}) |",
        f"| status query, worker holding the decision: p50 / p95 | {spread(warm)} "
        f"({verdict(warm)}) |",
        f"| status query, first after the worker was replaced | {cold:,.0f} ms |",
        f"| status query, later calls to the new worker: p50 / p95 | {spread(later)} "
        f"({verdict(later)}) |",
    ]


async def open_decisions(s: Stack, count: int) -> list[str]:
    worker = s.concord[0]
    before = worker.rss_mib()
    batch = uuid.uuid4().hex[:6]
    slots = asyncio.Semaphore(20)
    ids = [f"open-{batch}-{n}" for n in range(count)]

    async def one(decision_id: str) -> None:
        async with slots:
            await concord_round_open(s, decision_id, [])

    started = time.perf_counter()
    await asyncio.gather(*(one(decision_id) for decision_id in ids))
    seconds = time.perf_counter() - started
    warm = []
    for decision_id in ids[:: max(1, count // 100)]:
        warm.append(await status_ms(s, decision_id))
    after = worker.rss_mib()
    verdict = "met" if after < RSS_TARGET_MIB else "NOT met"
    return [
        f"| open decisions, each with a round open | {count:,} (set up in {seconds:,.0f} s) |",
        f"| worker RSS before / after | {before:,.0f} / {after:,.0f} MiB "
        f"(target < {RSS_TARGET_MIB:,.0f} MiB: {verdict}) |",
        f"| per open decision | {(after - before) * 1024 / count:,.0f} KiB |",
        f"| status of a cached one: p50 / p95 | {quantile(warm, 50):.1f} / "
        f"{quantile(warm, 95):.1f} ms |",
    ]


async def bench(arguments: argparse.Namespace) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="concord-long-lives-") as folder:
        async with stack(arguments.backend, arguments.server, Path(folder)) as s:
            long = await long_decision(s, arguments.reports, arguments.queries)
            print("\n".join(long), flush=True)
            many = await open_decisions(s, arguments.open)
            print("\n".join(many), flush=True)
    return ["| measure | figure |", "|---|---|", *long, *many]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--open", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=200)
    store_and_size_options(parser)
    arguments = parser.parse_args(argv)
    if arguments.smoke:
        arguments.reports, arguments.open, arguments.queries = 60, 3, 5
        arguments.no_write = True
    lines = asyncio.run(bench(arguments))
    if not arguments.no_write:
        write_run(
            __file__,
            "long lives benchmark",
            "## Long lives: a decision with thousands of reports, a thousand open decisions",
            f", event store on {arguments.backend}.",
            lines,
            argv,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
