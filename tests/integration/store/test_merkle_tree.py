"""The log's Merkle tree kept in the store: extended batch by batch as events are appended, it
has the root an independent computation over the stored entries gives, and proves every event."""

from __future__ import annotations

import pytest

from audit.merkle import MemoryTree, leaf_hash, verify_consistency, verify_inclusion
from audit.tree import TREE, MerkleProjection, StoredTree, caught_up
from store.eventstore import EventStore
from store.projections import ProjectionRunner
from tests.integration.store.test_read_models import record
from tests.unit.domain.scenario import Scenario


async def grown(store: EventStore, decisions: int) -> None:
    for number in range(decisions):
        await record(store, Scenario(f"d-tree-{number}").round_open())


@pytest.mark.parametrize("batch_size", [1, 7, 500])
async def test_the_stored_tree_has_the_root_of_the_logs_entries_and_proves_each(
    store: EventStore, batch_size: int
) -> None:
    await grown(store, 2)
    runner = ProjectionRunner(store, [MerkleProjection()], batch_size=batch_size)
    await runner.catch_up()
    await grown(store, 3)  # more events: the tree is extended, not rebuilt
    await runner.catch_up()

    entries = [e.body async for e in store.read_log()]
    memory = MemoryTree()
    for entry in entries:
        memory.append(leaf_hash(entry))
    tree = StoredTree(store)
    size = await tree.size()
    assert size == len(entries) == (await store.head())[0]
    root = await tree.root(size)
    assert root == await memory.root()
    for index in (0, 1, size // 2, size - 1):
        proof = await tree.inclusion(index, size)
        assert verify_inclusion(leaf_hash(entries[index]), index, size, proof, root)
    for old in (1, size // 3, size - 1):
        proof = await tree.consistency(old, size)
        assert verify_consistency(old, size, await tree.root(old), root, proof)


async def test_catching_up_again_adds_nothing_and_the_tree_rebuilds_the_same(
    store: EventStore,
) -> None:
    await grown(store, 2)
    tree = await caught_up(store)
    size = await tree.size()
    root = await tree.root(size)
    assert await ProjectionRunner(store, [MerkleProjection()]).catch_up() == 0
    runner = ProjectionRunner(store, [MerkleProjection()])
    assert await runner.rebuild(TREE) == size
    assert await StoredTree(store).root(size) == root


async def test_verification_recomputes_the_tree_and_finds_a_stored_subtree_altered(
    store: EventStore,
) -> None:
    from sqlalchemy import text

    from audit.tree import verify_tree
    from tests.integration.store.raw_sql import raw_transaction

    await grown(store, 3)
    size = await (await caught_up(store)).size()
    assert await verify_tree(store) == (size, None)
    async with raw_transaction(store.url) as connection:
        await connection.execute(
            text("UPDATE merkle_subtrees SET hash = :h WHERE level = 0 AND idx = 1"),
            {"h": "00" * 32},
        )
    leaves, finding = await verify_tree(store)
    assert leaves == size and finding is not None
    assert "level 0, index 1 (positions 2..2) does not hash" in finding
