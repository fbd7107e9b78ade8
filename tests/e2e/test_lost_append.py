"""A worker lost between storing a batch and completing the task that decided it: the next
attempt decides the commands again (at a later instant) and adopts what the log holds."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from audit.replay import replay_decision
from audit.verify import verify_log
from domain.commands import SubmitProposal, command_of
from runtime.decisions import DecisionClient
from store.eventstore import open_store
from store.schema import command_ranges
from tests.councils import testing_rosters
from tests.e2e.conftest import WorkerProcess
from tests.stores import migrated_sqlite

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOST_WORKER = ("-m", "tests.e2e.lost_worker")
TEXT = "The NATO-Russia Council adopts an Action Plan on Terrorism."


@dataclass
class Workers:
    """A worker that gets lost where `tests.e2e.lost_worker` is told to (the mark it leaves
    says when), and the worker that takes over on the same task queue."""

    lost: WorkerProcess
    successor: WorkerProcess
    mark: Path

    async def lost_at_mark(self) -> None:
        """Wait until the lost worker has left its mark (at most 30 s), then kill it."""
        deadline = time.monotonic() + 30
        while not self.mark.exists():
            assert time.monotonic() < deadline, self.lost.log.read_text()[-3000:]
            await asyncio.sleep(0.02)
        self.lost.kill()


@contextmanager
def workers(
    address: str, store_url: str, queue: str, folder: Path, losing: dict[str, str]
) -> Iterator[Workers]:
    """The lost worker, given the settings `losing` (where it gets lost) and started, and its
    successor, not yet started; both stopped at the end if still running."""
    mark = folder / "mark"
    lost = WorkerProcess(address, store_url, queue, folder / "lost.log", LOST_WORKER)
    lost.env |= losing | {"CONCORD_TEST_LOSE_MARK": str(mark)}
    successor = WorkerProcess(address, store_url, queue, folder / "successor.log")
    lost.start()
    try:
        yield Workers(lost, successor, mark)
    finally:
        for worker in (lost, successor):
            if worker.process is not None:
                worker.stop()


async def test_a_batch_stored_by_a_lost_worker_is_adopted_once_with_the_receipt_naming_it(
    dev_server: WorkflowEnvironment, store_url: str, tmp_path: Path
) -> None:
    decision = f"lost-append-{uuid.uuid4().hex[:8]}"
    address = dev_server.client.service_client.config.target_host
    queue = f"concord-lost-{tmp_path.name}"
    client = DecisionClient(dev_server.client, queue, rosters=testing_rosters)
    losing = {"CONCORD_TEST_LOSE_AFTER": "ReferredToPreparatoryCommittee"}
    with workers(address, store_url, queue, tmp_path, losing) as w:
        proposal = command_of(
            "submit_proposal",
            decision,
            "POL",
            title="Action Plan on Terrorism",
            text=TEXT,
            area="struggle_against_terrorism",
        )
        assert isinstance(proposal, SubmitProposal)
        await client.propose(proposal, key="proposal")
        referring = asyncio.create_task(
            client.execute(command_of("refer", decision, "chair"), key="refer")
        )
        await w.lost_at_mark()
        killed_at = datetime.now(UTC)
        # Given while no worker runs: decided in the next attempt, after the adopted batch.
        forwarding = asyncio.create_task(
            client.execute(
                command_of("complete_review", decision, "chair", outcome="forward"),
                key="forward",
            )
        )
        await asyncio.sleep(0.5)
        w.successor.start()
        referred, forwarded = await asyncio.wait_for(
            asyncio.gather(referring, forwarding), timeout=60
        )
        live = await client.live_history(decision)

    store = await open_store(store_url)
    try:
        stream = await store.stream(decision)
        ranges = await store.tables.rows(
            select(command_ranges).where(command_ranges.c.decision_id == decision)
        )
        report = await verify_log(store)
        replayed = await replay_decision(store, decision, live)
    finally:
        await store.close()

    types = [event.type for event in stream]
    assert types == [
        "ProposalSubmitted",
        "ReferredToPreparatoryCommittee",
        "ReviewCompleted",
    ], types
    assert [e.stream_version for e in stream] == [1, 2, 3]
    referral = stream[1]
    assert referral.occurred_at < killed_at, "the lost attempt's event, not one decided again"
    assert referred.event_types == ("ReferredToPreparatoryCommittee",)
    assert (referred.stream_version, referred.event_ids, referred.hashes) == (
        2,
        (referral.event_id,),
        (referral.hash,),
    )
    assert forwarded.stream_version == 3 and forwarded.hashes == (stream[2].hash,)
    assert {(r.idempotency_key, r.first_version, r.last_version) for r in ranges} == {
        ("proposal", 1, 1),
        ("refer", 2, 2),
        ("forward", 3, 3),
    }
    assert report.ok
    assert replayed.failures == (), "the replay audit implies the adopted events"
    assert replayed.events_implied == 3
    assert "adopted" in w.successor.log.read_text()


async def test_an_archive_cut_short_by_a_lost_worker_is_done_by_another_within_seconds(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A decision moved onto a new run archives the run before; the worker doing it is lost.
    Its attempt stops heartbeating, so another worker archives the history seconds after the
    loss, not after the attempt's two minutes, and the decision closes."""
    decision = f"lost-archive-{uuid.uuid4().hex[:8]}"
    url = await migrated_sqlite(tmp_path / "concord.db")
    address = dev_server.client.service_client.config.target_host
    queue = f"concord-lost-archive-{tmp_path.name}"
    client = DecisionClient(dev_server.client, queue, rosters=testing_rosters)
    with workers(address, url, queue, tmp_path, {"CONCORD_TEST_LOSE_ARCHIVE": "1"}) as w:
        proposal = command_of(
            "submit_proposal", decision, "POL", title="T", text=TEXT, area="crisis_management"
        )
        assert isinstance(proposal, SubmitProposal)
        await client.propose(proposal, key="proposal")
        first_run = (await client.handle(decision).describe()).run_id
        await client.renew(decision)
        await w.lost_at_mark()
        killed = time.monotonic()
        w.successor.start()
        withdrawn = await client.execute(
            command_of("withdraw", decision, "POL", reason="Overtaken"), key="withdraw"
        )
        assert withdrawn.event_types == ("DecisionWithdrawn",)
        result = await asyncio.wait_for(client.handle(decision).result(), timeout=60)
        took = time.monotonic() - killed

    store = await open_store(url)
    try:
        archived = await store.archive.histories(decision)
    finally:
        await store.close()
    assert result.status == "withdrawn" and result.archived
    assert [a.run_id for a in archived] == [first_run] == [w.mark.read_text().split()[1]]
    assert took < 10, f"the decision closed {took:.1f} s after its worker was lost"
    assert '"history archived"' in w.successor.log.read_text()
