"""What each index of the events table costs SQLite's commits, store code left out.

Replays the store benchmark's rows (built and chained by the store's own functions, outside the
timing) through bare `sqlite3`: `BEGIN IMMEDIATE`, `executemany` of a batch of 100, `COMMIT`,
with the store's pragmas, after 55,000 events, like `store_bench.py`'s batches of 100. Run by
hand, e.g.:
    .venv/bin/python benchmarks/sqlite_index_cost.py
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from store_bench import batches

from store.appending import chain_rows, prepare
from store.engine import SQLITE_PRAGMAS
from store.hashing import GENESIS_HASH
from store.schema import LOG_COLUMNS

VARIANTS: Final = {
    "unique event_id (schema 0002)": (
        "CREATE UNIQUE INDEX ix_id ON events (event_id)",
        "CREATE UNIQUE INDEX ix_stream ON events (decision_id, stream_version)",
        "CREATE INDEX ix_time ON events (decision_id, occurred_at)",
    ),
    "derived event_id (schema 0003)": (
        "CREATE UNIQUE INDEX ix_stream ON events (decision_id, stream_version)",
        "CREATE INDEX ix_time ON events (decision_id, occurred_at)",
    ),
}


def measure(indexes: tuple[str, ...], folder: Path) -> float:
    """Events per second of SQL time for 100,000 events in batches of 100."""
    connection = sqlite3.connect(folder / "events.db", isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        connection.execute(pragma)
    columns = ", ".join(
        f"{name} INTEGER PRIMARY KEY" if name == "position" else name for name in LOG_COLUMNS
    )
    connection.execute(f"CREATE TABLE events ({columns})")
    for index in indexes:
        connection.execute(index)
    insert = f"INSERT INTO events VALUES ({', '.join('?' * len(LOG_COLUMNS))})"
    head = (0, GENESIS_HASH)
    spent = 0.0
    for number, (_, _, batch) in enumerate(batches(155_000, 100, 0)):
        rows = chain_rows(prepare(batch), head, GENESIS_HASH, datetime.now(UTC))
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(insert, rows)
        connection.execute("COMMIT")
        if number >= 550:  # the first 55,000 events only fill the log
            spent += time.perf_counter() - started
        head = (rows[-1][0], rows[-1][12])
    connection.close()
    return 100_000 / spent


def main() -> None:
    for name, indexes in VARIANTS.items():
        with tempfile.TemporaryDirectory(prefix="concord-index-cost-") as folder:
            rate = measure(indexes, Path(folder))
        print(f"{name:<32} {rate:>9,.0f} events/s of SQL time")


if __name__ == "__main__":
    main()
