"""The Merkle tree of the log: Certificate Transparency's published vectors, and proofs that
verify for every leaf and every pair of sizes, and fail for anything altered."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from audit.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

CT_ENTRIES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
CT_CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip


def tree_of(entries: list[bytes]) -> MemoryTree:
    tree = MemoryTree()
    for entry in entries:
        tree.append(leaf_hash(entry))
    return tree


def test_the_roots_are_certificate_transparencys_for_every_size() -> None:
    assert EMPTY_ROOT.hex() == CT_ROOTS[0]
    tree = MemoryTree()
    for size, entry in enumerate(CT_ENTRIES, start=1):
        tree.append(leaf_hash(entry))
        assert asyncio.run(tree.root()).hex() == CT_ROOTS[size]
        assert root_of([leaf_hash(e) for e in CT_ENTRIES[:size]]).hex() == CT_ROOTS[size]


def test_inclusion_and_consistency_proofs_are_certificate_transparencys() -> None:
    tree = tree_of(CT_ENTRIES)
    for index, size, expected in CT_INCLUSION:
        proof = asyncio.run(inclusion_proof(tree.subtree, index, size))
        assert [p.hex() for p in proof] == expected
        root = bytes.fromhex(CT_ROOTS[size])
        assert verify_inclusion(leaf_hash(CT_ENTRIES[index]), index, size, proof, root)
    for old, new, expected in CT_CONSISTENCY:
        proof = asyncio.run(consistency_proof(tree.subtree, old, new))
        assert [p.hex() for p in proof] == expected
        old_root, new_root = bytes.fromhex(CT_ROOTS[old]), bytes.fromhex(CT_ROOTS[new])
        assert verify_consistency(old, new, old_root, new_root, proof)


def flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


@given(size=st.integers(1, 70), data=st.data())
def test_every_leafs_proof_verifies_and_nothing_altered_does(
    size: int, data: st.DataObject
) -> None:
    entries = [f"event {i}".encode() for i in range(size)]
    tree = tree_of(entries)
    root = asyncio.run(tree.root())
    index = data.draw(st.integers(0, size - 1))
    proof = asyncio.run(inclusion_proof(tree.subtree, index, size))
    leaf = leaf_hash(entries[index])
    assert verify_inclusion(leaf, index, size, proof, root)
    assert not verify_inclusion(leaf_hash(b"altered"), index, size, proof, root)
    assert not verify_inclusion(leaf, index, size, proof, flip(root))
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        altered = [*proof[:at], flip(proof[at]), *proof[at + 1 :]]
        assert not verify_inclusion(leaf, index, size, altered, root)
        assert not verify_inclusion(leaf, index, size, proof[:-1], root)
    if size > 1:
        other = (index + 1) % size
        assert not verify_inclusion(leaf, other, size, proof, root)


@given(new=st.integers(1, 70), data=st.data())
def test_a_grown_log_is_proved_consistent_and_a_rewritten_one_is_not(
    new: int, data: st.DataObject
) -> None:
    old = data.draw(st.integers(1, new))
    entries = [f"event {i}".encode() for i in range(new)]
    tree = tree_of(entries)
    old_root, new_root = asyncio.run(tree.root(old)), asyncio.run(tree.root())
    proof = asyncio.run(consistency_proof(tree.subtree, old, new))
    assert verify_consistency(old, new, old_root, new_root, proof)
    rewritten_at = data.draw(st.integers(0, old - 1))
    rewritten = tree_of([*entries[:rewritten_at], b"rewritten", *entries[rewritten_at + 1 :]])
    forged_root = asyncio.run(rewritten.root())
    forged_proof = asyncio.run(consistency_proof(rewritten.subtree, old, new))
    assert not verify_consistency(old, new, old_root, forged_root, forged_proof)
    if old < new:
        assert not verify_consistency(old, new, flip(old_root), new_root, proof)
        assert not verify_consistency(old, new, old_root, new_root, proof[:-1])
