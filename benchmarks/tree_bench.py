"""Transparency-log benchmark: the Merkle tree kept for a log of N events, its verification
against the entries, and inclusion and consistency proofs read from the store.

Run by hand (not a test), e.g.:
    .venv/bin/python benchmarks/tree_bench.py --events 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))

from store_bench import batches

from audit.merkle import leaf_hash, verify_consistency, verify_inclusion
from audit.tree import MerkleProjection, StoredTree, verify_tree
from store.eventstore import open_store
from store.migrate import upgrade
from store.projections import ProjectionRunner
from store.schema import events


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bench(total: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/concord.db"
        await upgrade(url)
        store = await open_store(url)
        try:
            started = time.perf_counter()
            for decision_id, version, records in batches(total, 100, 1):
                await store.append(decision_id, version, records)
            filled = time.perf_counter() - started
            print(f"filled {total:,} events in {filled:.1f} s ({total / filled:,.0f}/s)")

            runner = ProjectionRunner(store, [MerkleProjection()], batch_size=5_000)
            started = time.perf_counter()
            await runner.catch_up()
            kept = time.perf_counter() - started
            print(f"tree kept for {total:,} events in {kept:.1f} s ({total / kept:,.0f} events/s)")

            started = time.perf_counter()
            checked, finding = await verify_tree(store)
            verified = time.perf_counter() - started
            print(
                f"tree verified against the entries: {checked:,} leaves in {verified:.2f} s, "
                f"finding {finding}, peak RSS {peak_mib():.0f} MiB"
            )

            tree = StoredTree(store)
            size = await tree.size()
            root = await tree.root(size)
            inclusion, consistency = [], []
            positions = [index + 1 for index in range(0, size, max(1, size // 200))]
            rows = await store.read(
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
    asyncio.run(bench(parser.parse_args().events))


if __name__ == "__main__":
    main()
