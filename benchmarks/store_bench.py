"""Event store benchmark: append throughput by batch size, and full-log read+verify with peak RSS.

Run by hand (not a test), e.g.:
    .venv/bin/python benchmarks/store_bench.py --backend sqlite --events 1000000
    .venv/bin/python benchmarks/store_bench.py --backend postgres --events 1000000
PostgreSQL runs in a throwaway database on --server (dropped afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from audit.verify import verify_log
from store.eventstore import EventStore, open_store
from store.migrate import upgrade
from store.records import NewEvent, event_id_for

MEMBERS = ("BEL", "CAN", "CZE", "DNK", "FRA", "DEU", "GRC", "HUN", "ISL", "ITA", "RUS", "USA")
T0 = datetime(2004, 12, 9, 9, 0, tzinfo=UTC)
EVENTS_PER_DECISION = 200


def decision_events(number: int, first: int, count: int) -> list[NewEvent]:
    """Events first..first+count-1 of decision number `number`, each a realistic answer."""
    decision_id = f"d-bench-{number}"
    return [
        NewEvent(
            event_id=event_id_for(decision_id, version),
            decision_id=decision_id,
            stream_version=version,
            type="ConcurrenceRecorded",
            payload={
                "round": 1 + version // 20,
                "member": MEMBERS[version % len(MEMBERS)],
                "statement": "The delegation concurs with the text as circulated.",
                "text_hash": "9f2c" * 16,
            },
            actor=MEMBERS[version % len(MEMBERS)],
            recorded_by=f"member:{MEMBERS[version % len(MEMBERS)]}",
            occurred_at=T0 + timedelta(seconds=version),
        )
        for version in range(first, first + count)
    ]


def batches(
    total: int, batch_size: int, first_decision: int
) -> Iterator[tuple[str, int, list[NewEvent]]]:
    """(decision_id, expected_version, batch) covering `total` events, decision after decision."""
    per_decision = max(batch_size, EVENTS_PER_DECISION // batch_size * batch_size)
    made = 0
    number = first_decision
    while made < total:
        for expected in range(0, per_decision, batch_size):
            size = min(batch_size, total - made)
            if size <= 0:
                break
            yield f"d-bench-{number}", expected, decision_events(number, expected + 1, size)
            made += size
        number += 1


async def append_throughput(
    store: EventStore, total: int, batch_size: int, first: int, took: list[float] | None = None
) -> float:
    """Events per second appended by one writer in batches of `batch_size`; only the appends
    are timed (building the NewEvents, which callers do anyway, is not). Each append's seconds
    are added to `took`, if given."""
    spent = 0.0
    for decision_id, expected, batch in batches(total, batch_size, first):
        started = time.perf_counter()
        await store.append(decision_id, expected, batch)
        seconds = time.perf_counter() - started
        spent += seconds
        if took is not None:
            took.append(seconds)
    return total / spent


def measure_verify(url: str, workers: int | None) -> dict[str, float]:
    """Verify the whole log in a fresh process, so its peak RSS is verification's alone."""
    output = subprocess.run(
        [sys.executable, __file__, "--verify-only", url, "--workers", str(workers or 0)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


async def verify_only(url: str, workers: int | None) -> None:
    store = await open_store(url)
    try:
        started = time.perf_counter()
        report = await verify_log(store, workers=workers)
        seconds = time.perf_counter() - started
    finally:
        await store.close()
    assert report.ok, report.breaks
    print(
        json.dumps(
            {
                "events": report.events_checked,
                "tree_leaves": report.tree_size,
                "seconds": round(seconds, 2),
                "events_per_second": round(report.events_checked / seconds),
                "peak_rss_mib": _peak_mib(resource.RUSAGE_SELF),
                "worker_peak_rss_mib": _peak_mib(resource.RUSAGE_CHILDREN),
            }
        )
    )


def _peak_mib(who: int) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def report(result: dict[str, float], how: str) -> None:
    workers = (
        f", largest worker {result['worker_peak_rss_mib']:.0f} MiB"
        if result["worker_peak_rss_mib"]
        else ""
    )
    print(
        f"read+verify {result['events']:>9,.0f} events ({how}): {result['seconds']:>6.2f} s, "
        f"{result['events_per_second']:>9,.0f} events/s, peak RSS {result['peak_rss_mib']:.0f} MiB"
        + workers
    )


@asynccontextmanager
async def database(backend: str, server: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="concord-bench-") as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'concord.db'}"
        return
    url = make_url(server)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"concord_bench_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(dsn)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        connection = await asyncpg.connect(dsn)
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.close()


async def main(arguments: argparse.Namespace) -> None:
    async with database(arguments.backend, arguments.server) as url:
        await upgrade(url)
        store = await open_store(url)
        try:
            decision = 0
            for batch_size, total in ((1, arguments.single), (25, 50_000), (100, 100_000)):
                took: list[float] = []
                rate = await append_throughput(store, total, batch_size, decision, took)
                decision += total // EVENTS_PER_DECISION + 1
                p50, p95 = (statistics.quantiles(took, n=100)[q - 1] * 1000 for q in (50, 95))
                print(
                    f"append batch={batch_size:>3}: {total:>9,} events, {rate:>8,.0f} events/s, "
                    f"an append p50 {p50:.2f} ms, p95 {p95:.2f} ms"
                )
            report(measure_verify(url, 1), "one pass")
            position, _ = await store.head()
            if arguments.events > position:
                started = time.perf_counter()
                rate = await append_throughput(store, arguments.events - position, 100, decision)
                print(
                    f"filled to {arguments.events:,} events (batches of 100, {rate:,.0f} events/s) "
                    f"in {time.perf_counter() - started:.0f} s"
                )
                report(measure_verify(url, 1), "one pass")
                report(measure_verify(url, None), "default: one process per core")
        finally:
            await store.close()


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--events", type=int, default=1_000_000, help="log size to verify")
    parser.add_argument("--single", type=int, default=5_000, help="events appended one by one")
    parser.add_argument(
        "--server",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server (a throwaway database is created on it)",
    )
    parser.add_argument("--verify-only", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_arguments()
    if arguments.verify_only:
        asyncio.run(verify_only(arguments.verify_only, arguments.workers or None))
    else:
        asyncio.run(main(arguments))
