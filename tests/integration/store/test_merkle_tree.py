"""The log's Merkle tree kept in the store: extended batch by batch as events are appended, it
has the root an independent computation over the stored entries gives, proves every event from
stored subtrees of 256 leaves and up and the entries of at most two blocks, and verification
finds any stored subtree that does not hash to the log."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

import pytest
from sqlalchemy import func, select, text

from audit.merkle import MemoryTree, leaf_hash, verify_consistency, verify_inclusion
from audit.tree import BLOCK, LOWEST_STORED, TREE, MerkleProjection, StoredTree, caught_up
from audit.verify import BreakReason, verify_log
from store.eventstore import EventStore, open_store
from store.projections import ProjectionRunner
from store.schema import merkle_subtrees
from tests.integration.store.conftest import EventFactory
from tests.integration.store.raw_sql import raw_transaction


async def grown(store: EventStore, new_event: EventFactory, decision: str, count: int) -> None:
    """`count` more events of `decision`, appended in batches of up to 50."""
    version = await store.stream_version(decision)
    while count:
        batch = min(count, 50)
        await store.append(
            decision,
            version,
            [new_event(decision, version + index) for index in range(1, batch + 1)],
        )
        version, count = version + batch, count - batch


async def entries(store: EventStore) -> list[bytes]:
    return [event.body async for event in store.read_log()]


@pytest.mark.parametrize("batch_size", [1, 97, 1000])
async def test_the_stored_tree_has_the_root_of_the_logs_entries_and_proves_each(
    store: EventStore, new_event: EventFactory, batch_size: int
) -> None:
    await grown(store, new_event, "d-tree-a", 300)
    runner = ProjectionRunner(store, [MerkleProjection()], batch_size=batch_size)
    await runner.catch_up()
    await grown(store, new_event, "d-tree-b", 420)  # more events: extended, not rebuilt
    await runner.catch_up()

    logged = await entries(store)
    memory = MemoryTree()
    for entry in logged:
        memory.append(leaf_hash(entry))
    tree = StoredTree(store)
    size = await tree.size()
    assert size == len(logged) == 720
    root = await tree.root(size)
    assert root == await memory.root()
    for index in (0, 1, 255, 256, 511, 512, 600, size - 1):
        proof = await tree.inclusion(index, size)
        assert verify_inclusion(leaf_hash(logged[index]), index, size, proof, root)
    for old in (1, 255, 256, 300, 512, 513, size - 1):
        proof = await tree.consistency(old, size)
        assert verify_consistency(old, size, await memory.root(old), root, proof)


async def test_only_subtrees_of_a_block_and_up_are_stored(
    store: EventStore, new_event: EventFactory
) -> None:
    await grown(store, new_event, "d-tree", 3 * BLOCK + 5)
    await caught_up(store)
    rows = await store.tables.rows(
        select(merkle_subtrees.c.level, func.count().label("rows")).group_by(
            merkle_subtrees.c.level
        )
    )
    assert {row.level: row.rows for row in rows} == {LOWEST_STORED: 3, LOWEST_STORED + 1: 1}


async def test_a_restarted_projector_resumes_inside_a_block(
    store: EventStore, new_event: EventFactory
) -> None:
    await grown(store, new_event, "d-tree", 300)
    await ProjectionRunner(store, [MerkleProjection()]).catch_up()
    await grown(store, new_event, "d-tree", 300)
    # A new projection object has no frontier in memory: it reads the stored edge and the
    # entries of the last, incomplete block.
    await ProjectionRunner(store, [MerkleProjection()]).catch_up()
    memory = MemoryTree()
    for entry in await entries(store):
        memory.append(leaf_hash(entry))
    assert await StoredTree(store).root(600) == await memory.root()


async def test_catching_up_again_adds_nothing_and_the_tree_rebuilds_the_same(
    store: EventStore, new_event: EventFactory
) -> None:
    await grown(store, new_event, "d-tree", 600)
    tree = await caught_up(store)
    size = await tree.size()
    root = await tree.root(size)
    assert await ProjectionRunner(store, [MerkleProjection()]).catch_up() == 0
    runner = ProjectionRunner(store, [MerkleProjection()])
    assert await runner.rebuild(TREE) == size
    assert await StoredTree(store).root(size) == root


@pytest.mark.parametrize("workers", [1, pytest.param(3, marks=pytest.mark.slow)])
async def test_verification_recomputes_the_tree_and_finds_a_stored_subtree_altered(
    store: EventStore, new_event: EventFactory, workers: int
) -> None:
    await grown(store, new_event, "d-tree", 1100)
    await caught_up(store)
    report = await verify_log(store, workers=workers)
    assert report.ok and report.tree_size == 1100
    async with raw_transaction(store.url) as connection:
        await connection.execute(
            text("UPDATE merkle_subtrees SET hash = :h WHERE level = 4 AND idx = 2"),
            {"h": "00" * 32},
        )
    report = await verify_log(store, workers=workers)
    assert report.first_break is None and report.tree_break is not None
    assert report.tree_break.reason is BreakReason.TREE_MISMATCH
    assert report.tree_break.position == 33
    assert "level 4, index 2 (positions 33..48) does not hash" in report.tree_break.message
    assert list(report.breaks) == ["merkle_tree"]


@pytest.mark.parametrize(
    ("statement", "position", "found"),
    [
        (
            "DELETE FROM merkle_subtrees WHERE level = 5",
            1,
            "level 5, index 0 (positions 1..32) is missing",
        ),
        (
            "INSERT INTO merkle_subtrees (level, idx, hash) VALUES (4, 40, '" + "ab" * 32 + "')",
            641,
            "level 4, index 40, beyond its 600 leaves",
        ),
        (
            "UPDATE projection_positions SET position = 601 WHERE name = 'merkle_tree'",
            601,
            "has 601 leaves, the log 600 events",
        ),
    ],
    ids=["missing", "beyond", "longer-than-the-log"],
)
async def test_verification_finds_a_tree_that_lacks_or_adds_subtrees(
    store: EventStore, new_event: EventFactory, statement: str, position: int, found: str
) -> None:
    await grown(store, new_event, "d-tree", 600)
    await caught_up(store)
    async with raw_transaction(store.url) as connection:
        await connection.execute(text(statement))
    tree_break = (await verify_log(store)).tree_break
    assert tree_break is not None
    assert (tree_break.position, tree_break.reason) == (position, BreakReason.TREE_MISMATCH)
    assert found in tree_break.message


async def test_a_proof_reads_no_more_than_two_blocks_of_entries(
    store: EventStore, new_event: EventFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await grown(store, new_event, "d-tree", 6 * BLOCK + 1)
    size = await (await caught_up(store)).size()
    entries_read: list[int] = []
    read_together = store.tree.read_together

    async def counted(
        ranges: Sequence[tuple[int, int]], nodes: Collection[tuple[int, int]]
    ) -> tuple[list[list[tuple[int, bytes]]], dict[tuple[int, int], bytes]]:
        found, hashes = await read_together(ranges, nodes)
        entries_read.extend(len(rows) for rows in found)
        return found, hashes

    monkeypatch.setattr(store.tree, "read_together", counted)
    proof = await StoredTree(store).inclusion(20, size)
    assert entries_read == [BLOCK, 1]  # leaf 20's block, and the last leaf, alone in its block
    logged = await entries(store)
    root = await StoredTree(store).root(size)
    assert verify_inclusion(leaf_hash(logged[20]), 20, size, proof, root)


@pytest.mark.parametrize("stores", ["one store", "two stores"])
async def test_two_runners_keeping_the_tree_at_once_store_it_once(
    store: EventStore, new_event: EventFactory, stores: str
) -> None:
    """Runners of one store share its writer; two stores (as two `concord project` processes)
    take turns through the database's own lock."""
    await grown(store, new_event, "d-tree", 1_000)
    other = store if stores == "one store" else await open_store(store.url)
    try:
        first = ProjectionRunner(store, [MerkleProjection()], batch_size=97)
        second = ProjectionRunner(other, [MerkleProjection()], batch_size=61)
        applied = await asyncio.gather(first.catch_up(), second.catch_up())
    finally:
        if other is not store:
            await other.close()
    assert sum(applied) == 1_000, "each event is applied by one of them"
    memory = MemoryTree()
    for entry in await entries(store):
        memory.append(leaf_hash(entry))
    assert await StoredTree(store).root(1_000) == await memory.root()
    assert (await verify_log(store)).ok
