"""A witness cosigns a checkpoint that extends the last one it cosigned, and refuses a rollback,
a fork, a step forward without a consistency proof, and a checkpoint the log did not sign."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import nacl.signing
import pytest

from audit.checkpoint import Checkpoint, ConsistencyProof, b64
from audit.merkle import MemoryTree, consistency_proof, leaf_hash
from audit.note import Signer, Verifier, open_note, split
from audit.witness import CosignerKey, Witness, cosigned_message, witness
from domain.errors import AuditFailed, InvalidInput

ORIGIN = "nrc.example/concord"


def tree_of(entries: list[bytes]) -> MemoryTree:
    tree = MemoryTree()
    for entry in entries:
        tree.append(leaf_hash(entry))
    return tree


def signed(key: Signer, tree: MemoryTree, size: int) -> str:
    return key.sign(Checkpoint(ORIGIN, size, asyncio.run(tree.root(size))).text())


def proof(tree: MemoryTree, old: int, new: int) -> ConsistencyProof:
    path = asyncio.run(consistency_proof(tree.subtree, old, new))
    return ConsistencyProof(old="", new="", proof=b64(path))


def test_a_witness_cosigns_a_log_that_grows_and_refuses_rollback_and_fork(tmp_path: Path) -> None:
    log = Signer.generate(ORIGIN)
    entries = [f"event {i}".encode() for i in range(9)]
    honest = tree_of(entries)
    state = tmp_path / "witness"

    first = witness(
        state, "w.example/w1", log.verifier, signed(log, honest, 3), None, 1_700_000_000
    )
    grown = witness(
        state,
        "w.example/w1",
        log.verifier,
        signed(log, honest, 7),
        proof(honest, 3, 7),
        1_700_000_100,
    )
    text, signatures = open_note(grown, log.verifier)  # the log's own signature is kept
    me = Witness.in_state(state, "ignored once made").key
    assert [me.timestamp_of(text, s) for s in signatures] == [None, 1_700_000_100]
    assert (state / "witness.key").stat().st_mode & 0o777 == 0o600
    assert first != grown

    # PyNaCl, a second Ed25519 implementation, checks the cosignature as the spec defines it.
    cosignature = signatures[1].signature
    nacl.signing.VerifyKey(me.public).verify(cosigned_message(text, 1_700_000_100), cosignature[8:])
    assert CosignerKey.parse(me.encode()) == me

    with pytest.raises(AuditFailed, match="rollback"):
        witness(state, "w.example/w1", log.verifier, signed(log, honest, 5), None, 1_700_000_200)
    forked = tree_of([*entries[:2], b"rewritten", *entries[3:]])
    with pytest.raises(AuditFailed, match="fork"):
        witness(state, "w.example/w1", log.verifier, signed(log, forked, 7), None, 1_700_000_200)
    with pytest.raises(AuditFailed, match="fork"):
        witness(state, "w.example/w1", log.verifier, signed(log, forked, 9), proof(forked, 7, 9), 1)
    with pytest.raises(AuditFailed, match="no consistency proof"):
        witness(state, "w.example/w1", log.verifier, signed(log, honest, 9), None, 1)
    stranger = Signer.generate(ORIGIN)
    with pytest.raises(InvalidInput, match="not signed by"):
        witness(state, "w.example/w1", log.verifier, signed(stranger, honest, 9), None, 1)
    # After all that, the witness still stands where it was: 7, and it goes on from there.
    again = witness(
        state, "w.example/w1", log.verifier, signed(log, honest, 9), proof(honest, 7, 9), 2
    )
    assert len(split(again)[1]) == 2


def test_a_tampered_cosignature_does_not_verify(tmp_path: Path) -> None:
    log = Signer.generate(ORIGIN)
    tree = tree_of([b"a", b"b"])
    cosigned = witness(tmp_path, "w.example/w1", log.verifier, signed(log, tree, 2), None, 5)
    text, [_, mine] = split(cosigned)
    key = Witness.in_state(tmp_path, "").key
    raw = bytearray(mine.signature)
    raw[0] ^= 1  # another timestamp than the one signed
    forged = type(mine)(mine.name, mine.id, bytes(raw))
    assert key.timestamp_of(text, mine) == 5 and key.timestamp_of(text, forged) is None
    assert base64.b64decode(cosigned.splitlines()[-1].split(" ")[-1])[:4] == key.id


def test_keys_are_written_and_read_back_and_never_taken_for_another_kind(tmp_path: Path) -> None:
    witness = Witness.in_state(tmp_path / "w", "witness.example")
    again = Witness.in_state(tmp_path / "w", "ignored: the file names it")
    assert again == witness and (tmp_path / "w" / "witness.key").stat().st_mode & 0o777 == 0o600
    assert CosignerKey.parse(witness.key.encode()) == witness.key
    signer = Signer.generate("nrc.example/concord")
    assert Signer.parse(signer.encode()) == signer
    assert Verifier.parse(signer.verifier.encode()) == signer.verifier

    with pytest.raises(InvalidInput, match="no Ed25519 key of type 0x04"):
        CosignerKey.parse(signer.verifier.encode())  # a log's key is not a witness's
    with pytest.raises(InvalidInput, match="no Ed25519 key of type 0x01"):
        Verifier.parse(witness.key.encode())
    name, _, encoded = witness.key.encode().split("+", 2)
    with pytest.raises(InvalidInput, match="id does not match"):
        CosignerKey.parse(f"{name}+{'0' * 8}+{encoded}")
    (tmp_path / "w" / "witness.key").write_text(signer.encode())
    with pytest.raises(InvalidInput, match=r"witness key in .* holds no Ed25519 key of type 0x04"):
        Witness.in_state(tmp_path / "w", "witness.example")
