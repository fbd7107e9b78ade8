"""Transparency-log benchmark: the Merkle tree kept for a log of N events, the verification
of the whole chain and tree (as `concord audit verify` runs it, in a fresh process), and
inclusion and consistency proofs read from the store.

Run by hand (not a test), e.g.:
    .venv/bin/python benchmarks/tree_bench.py --events 1000000
    .venv/bin/python benchmarks/tree_bench.py --events 1000000 --backend postgres
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select

sys.path.insert(0, str(Path(__file__).parent))

from store_bench import batches, database, measure_verify

from audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from audit.tree import TREE, MerkleProjection, StoredTree
from runtime.bootstrap import PROJECTION_INTERVAL_S, TREE_BATCH
from store.eventstore import EventStore, open_store
from store.migrate import upgrade
from store.projections import ProjectionRunner
from store.schema import events


def _start_projector(url: str) -> tuple[BaseProcess, Any, Any]:
    context = multiprocessing.get_context("spawn")
    stop, writes = context.Event(), context.Queue()
    process = context.Process(target=_keep_tree, args=(url, stop, writes))
    process.start()
    return process, stop, writes


def _keep_tree(url: str, stop: Any, writes: Any) -> None:
    """Keep the tree up with the log until `stop` is set, then catch up once more: as
    `concord project` keeps it (its interval, its batches). Puts on `writes` when each of its
    write transactions began (wall clock) and how long it took: the appends wait on them."""

    async def keep() -> None:
        store = await open_store(url)
        advance, timed = store.projections.advance, []

        async def timed_advance(
            name: str, after: int, to: int, inserts: Sequence[tuple[Table, list[dict[str, Any]]]]
        ) -> bool:
            began, started = time.time(), time.perf_counter()
            try:
                return await advance(name, after, to, inserts)
            finally:
                timed.append((began, time.perf_counter() - started))

        store.projections.advance = timed_advance  # type: ignore[method-assign]
        runner = ProjectionRunner(store, [MerkleProjection(batch_size=TREE_BATCH)])
        try:
            while not stop.is_set():  # as the projector follows the log
                await runner.catch_up()
                await asyncio.sleep(PROJECTION_INTERVAL_S)
            await runner.catch_up()
        finally:
            await store.close()
            writes.put(timed)

    asyncio.run(keep())


async def _until_tree_is_at_head(store: EventStore) -> None:
    """Wait (untimed) until the projector has caught up with what the parts before appended
    without it: a live tree follows the log, so a timed part measures keeping it up, not
    rebuilding a backlog only this benchmark's alternation made (timed on its own below)."""
    head, _ = await store.head()
    while await store.projections.position(TREE) < head:
        await asyncio.sleep(0.05)


async def bench(total: int, backend: str, server: str, runs: int) -> None:
    async with database(backend, server) as url:
        await upgrade(url)
        store = await open_store(url)
        try:
            # Appends alternate, an eighth of the log at a time, without and with the projector
            # keeping the tree in a process of its own (as `concord project` does).
            rates: dict[bool, list[float]] = {False: [], True: []}
            latencies: dict[bool, list[float]] = {False: [], True: []}
            writes: list[float] = []  # the tree's write transactions while appends were timed
            # (Batches are made as they go: a list of them all would be the benchmark's memory,
            # and Linux hands a process's peak RSS on to the verifier it starts.)
            # Off and on in the order off, on, on, off, twice, so that the log's growth slows
            # both alike.
            made = batches(total, 100, 1)
            for live in (False, True, True, False) * 2:
                projector = _start_projector(url) if live else None
                if live:
                    await _until_tree_is_at_head(store)
                appended, spent, window = 0, 0.0, time.time()
                for decision_id, version, records in made:
                    started = time.perf_counter()
                    await store.append(decision_id, version, records)
                    latencies[live].append(time.perf_counter() - started)
                    spent += latencies[live][-1]
                    appended += len(records)
                    if appended >= total // 8:
                        break
                rates[live].append(appended / spent)
                if projector is not None:
                    timed_until = time.time()
                    projector[1].set()
                    timed = projector[2].get()
                    projector[0].join()
                    writes += [took for began, took in timed if window <= began < timed_until]
            for live, measured in rates.items():
                print(
                    f"appends, batches of 100, projector {'keeping the tree' if live else 'off'}: "
                    + ", ".join(f"{rate:,.0f}" for rate in measured)
                    + f" events/s (mean {statistics.mean(measured):,.0f})"
                )
            ratio = statistics.mean(rates[True]) / statistics.mean(rates[False])
            print(f"appends with the tree kept: {ratio:.0%} of those without")
            for live, measured in latencies.items():
                cuts = statistics.quantiles(measured, n=100)
                print(
                    f"append latency, projector {'keeping the tree' if live else 'off'}: "
                    f"p50 {cuts[49] * 1000:.2f} ms, p99 {cuts[98] * 1000:.2f} ms"
                )
            if writes:
                print(
                    f"the tree's write transactions while appends were timed: {len(writes)}, "
                    f"median {statistics.median(writes) * 1000:.1f} ms, "
                    f"max {max(writes) * 1000:.1f} ms"
                )

            # Then the whole tree again, from nothing, timed.
            runner = ProjectionRunner(store, [MerkleProjection(batch_size=TREE_BATCH)])
            await store.projections.reset(TREE, MerkleProjection().tables)
            started = time.perf_counter()
            await runner.catch_up()
            kept = time.perf_counter() - started
            print(f"tree kept for {total:,} events in {kept:.1f} s ({total / kept:,.0f} events/s)")

            for _ in range(runs):
                result = measure_verify(url, None)
                print(
                    f"chain and tree verified: {result['events']:,.0f} events, "
                    f"{result['tree_leaves']:,.0f} leaves in {result['seconds']:.2f} s, peak RSS "
                    f"{result['peak_rss_mib']:.0f} MiB, worker "
                    f"{result['worker_peak_rss_mib']:.0f} MiB"
                )

            tree = StoredTree(store)
            size = await tree.size()
            root = await tree.root(size)
            inclusion, consistency = [], []
            positions = [index + 1 for index in range(0, size, max(1, size // 200))]
            rows = await store.tables.rows(
                select(events.c.position, events.c.body).where(events.c.position.in_(positions))
            )
            bodies = {row.position - 1: bytes(row.body) for row in rows}
            for index, body in bodies.items():
                fresh = StoredTree(store)  # no cache: every hash read from the store
                started = time.perf_counter()
                proof = await fresh.inclusion(index, size)
                inclusion.append(time.perf_counter() - started)
                assert verify_inclusion(leaf_hash(body), index, size, proof, root)
            for old in range(1, size, max(1, size // 200)):
                fresh = StoredTree(store)
                started = time.perf_counter()
                proof = await fresh.consistency(old, size)
                old_root = await fresh.root(old)
                consistency.append(time.perf_counter() - started)
                assert verify_consistency(old, size, old_root, root, proof)
            for name, times in (("inclusion", inclusion), ("consistency", consistency)):
                print(
                    f"{name} proof: p50 {statistics.median(times) * 1000:.2f} ms, p95 "
                    f"{statistics.quantiles(times, n=20)[18] * 1000:.2f} ms over {len(times)}"
                )

        finally:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--server",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL server (a throwaway database is created on it)",
    )
    parser.add_argument("--runs", type=int, default=3, help="verifications timed")
    arguments = parser.parse_args()
    asyncio.run(bench(arguments.events, arguments.backend, arguments.server, arguments.runs))


if __name__ == "__main__":
    main()
