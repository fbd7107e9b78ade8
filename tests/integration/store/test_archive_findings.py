"""`concord doctor` counts a closed run without its archive as missing only once the projector's
archivist has followed the log past its decision's last event: a run closed moments ago is the
archivist's to archive at its next pass."""

from __future__ import annotations

from cli.findings import archivist_passed
from runtime.decisions import DecisionRun
from store.eventstore import EventStore
from tests.integration.store.conftest import EventFactory


async def test_a_closed_run_is_missing_only_once_the_archivist_has_passed_its_decision(
    store: EventStore, new_event: EventFactory
) -> None:
    await store.append("d-1", 0, [new_event("d-1", v) for v in (1, 2, 3)])
    await store.append("d-2", 0, [new_event("d-2", 1)])
    run = DecisionRun("d-1", "decision-d-1", "run-1", "COMPLETED")

    assert not await archivist_passed(store, run, 2), "its last event, at 3, is still ahead"
    assert await archivist_passed(store, run, 3)
    assert await archivist_passed(store, run, 4)
    unknown = DecisionRun("d-elsewhere", "decision-d-elsewhere", "run-9", "COMPLETED")
    assert await archivist_passed(store, unknown, 0), "a run whose decision this log lacks"
