"""A worker lost in the middle of its work: run as `python -m tests.e2e.lost_worker`.

With CONCORD_TEST_LOSE_AFTER, its first append of a batch holding an event of that type is
stored, then CONCORD_TEST_LOSE_MARK is written and the append never reports: the workflow task
that decided the batch never completes, as when a worker dies between storing and answering.
With CONCORD_TEST_LOSE_ARCHIVE instead, its first archive of a run's history writes the mark and
never stores nor reports, as when a worker dies while it archives. The test kills it there.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

import structlog

from runtime.bootstrap import build_worker, opened_store
from runtime.logging import configure_logging
from runtime.settings import load_settings
from runtime.temporal import connect
from store.eventstore import EventStore
from store.records import Appended, ArchivedHistory, CommandRange, NewEvent

log = structlog.get_logger(__name__)


def losing_after(store: EventStore, event_type: str, mark: Path) -> None:
    """Make `store`'s adopting appends hang, once stored, from the first batch with `event_type`."""
    append = store.append_adopting

    async def append_then_hang(
        decision_id: str,
        expected_version: int,
        events: Sequence[NewEvent],
        commands: Sequence[CommandRange] = (),
    ) -> Appended:
        appended = await append(decision_id, expected_version, events, commands)
        if any(event.type == event_type for event in events):
            mark.write_text(f"{decision_id} {expected_version}")
            await asyncio.Event().wait()
        return appended

    store.append_adopting = append_then_hang  # type: ignore[method-assign]


def losing_archive(store: EventStore, mark: Path) -> None:
    """Make `store`'s archive of a run's history hang, once the mark is written."""

    async def hang(
        decision_id: str, workflow_id: str, run_id: str, history_json: str
    ) -> ArchivedHistory:
        mark.write_text(f"{decision_id} {run_id}")
        await asyncio.Event().wait()
        raise AssertionError("never reached: the worker is killed while it waits")

    store.archive.keep = hang  # type: ignore[method-assign]


async def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_format)
    client = await connect(settings.temporal_address, settings.temporal_namespace)
    async with opened_store(settings) as store:
        mark = Path(os.environ["CONCORD_TEST_LOSE_MARK"])
        if os.environ.get("CONCORD_TEST_LOSE_ARCHIVE") == "1":
            losing_archive(store, mark)
        else:
            losing_after(store, os.environ["CONCORD_TEST_LOSE_AFTER"], mark)
        async with build_worker(client, store, settings.task_queue):
            log.info("worker running", task_queue=settings.task_queue)
            await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
