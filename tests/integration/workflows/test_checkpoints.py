"""The checkpoint workflow publishes a signed checkpoint of the log's tree and keeps it, once per
tree size; without a signing key it publishes nothing and does not fail."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest
from sqlalchemy import delete, select, update
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from audit.checkpoint import open_checkpoint
from audit.merkle import verify_consistency
from audit.note import Signer
from audit.tree import StoredTree, caught_up
from domain.errors import InvalidHistory
from runtime.bootstrap import build_worker
from store.eventstore import EventStore
from store.hashing import chain_hash
from store.schema import events, log_head, merkle_subtrees, projection_positions
from tests.integration.store.raw_sql import raw_transaction
from tests.integration.store.test_read_models import record
from tests.shutdown import bounded
from tests.unit.domain.scenario import Scenario
from workflows.checkpoints import CheckpointWorkflow
from workflows.failures import from_failure
from workflows.messages import CheckpointInput, CheckpointResult

ORIGIN: Final = "concord.test/log"


@pytest.fixture
def key(tmp_path: Path) -> Signer:
    signer = Signer.generate(ORIGIN)
    (tmp_path / "log.key").write_text(signer.encode() + "\n")
    return signer


@pytest.fixture
async def signing_worker(
    env: WorkflowEnvironment, store: EventStore, task_queue: str, tmp_path: Path, key: Signer
) -> AsyncIterator[Worker]:
    """A worker given the key file, as `concord dev` and `worker.py` give it from settings."""
    async with bounded(
        f"the worker on task queue {task_queue}",
        build_worker(
            env.client, store, task_queue, signing_key_file=tmp_path / "log.key", log_origin=ORIGIN
        ),
    ) as running:
        yield running


async def published(env: WorkflowEnvironment, task_queue: str) -> CheckpointResult:
    result: CheckpointResult = await env.client.execute_workflow(
        CheckpointWorkflow.run,
        CheckpointInput(),
        id=f"checkpoint-{uuid.uuid4().hex[:8]}",
        task_queue=task_queue,
    )
    return result


async def test_a_run_keeps_a_signed_checkpoint_of_the_log_and_the_next_keeps_nothing_new(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    key: Signer,
    signing_worker: Worker,
) -> None:
    await record(store, Scenario("d-checkpoint-1").round_open())
    head, _ = await store.head()

    first = await published(env, task_queue)
    again = await published(env, task_queue)

    root = await StoredTree(store).root(head)
    assert first == CheckpointResult(outcome="kept", size=head, root=root.hex())
    assert again == CheckpointResult(outcome="unchanged", size=head, root=root.hex())
    [kept] = await store.checkpoints.after()
    assert await store.checkpoints.latest() == kept
    signed = open_checkpoint(kept.signed, key.verifier, ORIGIN)
    assert (kept.size, kept.root, signed.size, signed.root) == (head, root.hex(), head, root)


async def test_a_run_after_the_log_grew_keeps_a_checkpoint_that_extends_the_last(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    key: Signer,
    signing_worker: Worker,
) -> None:
    await record(store, Scenario("d-checkpoint-1").round_open())
    await published(env, task_queue)
    await record(store, Scenario("d-checkpoint-2").planned())

    grown = await published(env, task_queue)

    old, new = (open_checkpoint(c.signed, key.verifier) for c in await store.checkpoints.after())
    assert grown.outcome == "kept"
    assert new.size == grown.size == (await store.head())[0] > old.size
    proof = await StoredTree(store).consistency(old.size, new.size)
    assert verify_consistency(old.size, new.size, old.root, new.root, proof)


async def test_an_empty_log_gets_no_checkpoint(
    env: WorkflowEnvironment, store: EventStore, task_queue: str, signing_worker: Worker
) -> None:
    assert await published(env, task_queue) == CheckpointResult(
        outcome="unchanged", size=0, root=(await StoredTree(store).root(0)).hex()
    )
    assert await store.checkpoints.after() == []


async def test_without_a_key_file_a_run_publishes_nothing_and_succeeds(
    env: WorkflowEnvironment, store: EventStore, task_queue: str, tmp_path: Path
) -> None:
    await record(store, Scenario("d-checkpoint-1").round_open())
    async with build_worker(
        env.client, store, task_queue, signing_key_file=tmp_path / "none.key", log_origin=ORIGIN
    ):
        assert await published(env, task_queue) == CheckpointResult(outcome="no_key")
    async with build_worker(env.client, store, task_queue):
        assert await published(env, task_queue) == CheckpointResult(outcome="no_key")

    assert await store.checkpoints.after() == []


async def test_a_log_whose_kept_size_has_another_root_fails_the_run_and_keeps_nothing(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    key: Signer,
    signing_worker: Worker,
) -> None:
    await record(store, Scenario("d-checkpoint-1").round_open())
    head, _ = await store.head()
    forged = await store.checkpoints.keep(head, b"\x00" * 32, key.sign(f"{ORIGIN}\n{head}\nx\n"))

    with pytest.raises(WorkflowFailureError) as failed:
        await published(env, task_queue)

    assert isinstance(from_failure(failed.value), InvalidHistory)
    assert await store.checkpoints.after() == [forged]


async def edited_in_place(store: EventStore, position: int, rechain: bool = False) -> None:
    """Change one event's stored body in the database (as a forger would), and with `rechain`
    every chain hash from there to the head, so that the chain verifies again."""
    async with raw_transaction(store.url) as connection:
        body = (
            await connection.execute(select(events.c.body).where(events.c.position == position))
        ).scalar_one()
        forged = bytes(body).replace(b'"actor":"', b'"actor":"X', 1)
        assert forged != bytes(body)
        await connection.execute(
            update(events).where(events.c.position == position).values(body=forged)
        )
        if not rechain:
            return
        rows = await connection.execute(
            select(events.c.position, events.c.prev_hash, events.c.body)
            .where(events.c.position >= position)
            .order_by(events.c.position)
        )
        linked = None
        for row in rows.all():
            prev = linked or row.prev_hash
            linked = chain_hash(prev, bytes(row.body))
            await connection.execute(
                update(events)
                .where(events.c.position == row.position)
                .values(prev_hash=prev, hash=linked)
            )
        await connection.execute(update(log_head).values(hash=linked))


async def refused(env: WorkflowEnvironment, task_queue: str) -> str:
    with pytest.raises(WorkflowFailureError) as failed:
        await published(env, task_queue)
    error = from_failure(failed.value)
    assert isinstance(error, InvalidHistory), error
    return error.message


async def test_an_event_edited_after_the_last_checkpoint_is_caught_and_nothing_is_signed(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    key: Signer,
    signing_worker: Worker,
) -> None:
    await record(store, Scenario("d-checkpoint-1").round_open())
    first = await published(env, task_queue)
    await record(store, Scenario("d-checkpoint-2").planned())
    await caught_up(store)  # the stored tree is of the true entries
    head, _ = await store.head()

    await edited_in_place(store, head - 3)

    message = await refused(env, task_queue)
    assert f"the event at position {head - 3} does not hash to its chain hash" in message
    assert [c.size for c in await store.checkpoints.after()] == [first.size]


async def test_a_chain_rewritten_consistently_with_its_stored_tree_left_is_caught(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    key: Signer,
    signing_worker: Worker,
) -> None:
    await record(store, Scenario("d-checkpoint-1").round_open())
    first = await published(env, task_queue)
    await record(store, Scenario("d-checkpoint-2").planned())
    await caught_up(store)
    head, _ = await store.head()
    block_start = (first.size // 16 + 1) * 16  # a block of 16 the growth completes
    assert block_start + 16 <= head

    await edited_in_place(store, block_start + 1, rechain=True)

    message = await refused(env, task_queue)
    assert f"subtree of positions {block_start + 1}..{block_start + 16}" in message
    assert len(await store.checkpoints.after()) == 1


async def test_an_event_edited_below_the_last_checkpoint_in_its_open_block_is_caught(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    key: Signer,
    signing_worker: Worker,
) -> None:
    await record(store, Scenario("d-checkpoint-1").round_open())
    first = await published(env, task_queue)
    assert first.size % 16, "the checkpoint ends inside a block of 16 (recomputed from entries)"
    await record(store, Scenario("d-checkpoint-2").round_open())

    await edited_in_place(store, first.size)

    message = await refused(env, task_queue)
    assert f"first {first.size} events no longer hash to the root" in message
    assert len(await store.checkpoints.after()) == 1


async def test_a_kept_checkpoint_not_signed_by_the_key_is_not_built_upon(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    key: Signer,
    signing_worker: Worker,
) -> None:
    await record(store, Scenario("d-checkpoint-1").round_open())
    head, _ = await store.head()
    root = await (await caught_up(store)).root(head)
    other = Signer.generate(ORIGIN)  # a forger's key, of the same name
    await store.checkpoints.keep(head, root, other.sign(f"{ORIGIN}\n{head}\n{b64(root)}\n"))
    await record(store, Scenario("d-checkpoint-2").round_open())

    message = await refused(env, task_queue)
    assert "is not one this log's key signed" in message


def b64(root: bytes) -> str:
    return base64.b64encode(root).decode()


async def rebuilt_tree(store: EventStore) -> None:
    """The forger's last step: the stored tree thrown away and built again from the entries."""
    async with raw_transaction(store.url) as connection:
        await connection.execute(delete(merkle_subtrees))
        await connection.execute(
            update(projection_positions)
            .where(projection_positions.c.name == "merkle_tree")
            .values(position=0)
        )
    await caught_up(store)


async def test_a_chain_and_tree_rewritten_consistently_below_a_checkpoint_are_caught(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    key: Signer,
    signing_worker: Worker,
) -> None:
    """Every hash recomputed, the chain's and the tree's: the log is a sound log, of other
    entries than the checkpoint kept signed. The publisher does not sign it."""
    await record(store, Scenario("d-checkpoint-1").round_open())
    first = await published(env, task_queue)
    await edited_in_place(store, 2, rechain=True)
    await rebuilt_tree(store)
    await record(store, Scenario("d-checkpoint-2").round_open())

    message = await refused(env, task_queue)
    assert f"first {first.size} events no longer hash to the root" in message
    assert [c.size for c in await store.checkpoints.after()] == [first.size]


async def test_a_log_cut_short_below_a_checkpoint_consistently_is_caught(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    key: Signer,
    signing_worker: Worker,
) -> None:
    """The last events deleted with the head moved back and the tree rebuilt: a sound log,
    shorter than the checkpoint kept. The publisher names both sizes and signs nothing."""
    await record(store, Scenario("d-checkpoint-1").round_open())
    await record(store, Scenario("d-checkpoint-2").round_open())
    first = await published(env, task_queue)
    keep = first.size - 3
    async with raw_transaction(store.url) as connection:
        kept_hash = (
            await connection.execute(select(events.c.hash).where(events.c.position == keep))
        ).scalar_one()
        await connection.execute(delete(events).where(events.c.position > keep))
        await connection.execute(update(log_head).values(position=keep, hash=kept_hash))
    await rebuilt_tree(store)

    message = await refused(env, task_queue)
    assert str(keep) in message and str(first.size) in message
    assert [c.size for c in await store.checkpoints.after()] == [first.size]
