"""Witnesses over the network (C2SP tlog-witness): two `concord witness serve` processes cosign
each checkpoint the publisher keeps as the log grows, and refuse a fork and a rollback from a
forger holding the log's key; the checkpoint served carries their cosignatures, and a verifier
holding a k-of-n policy refuses one without enough of them. A client written from the spec
alone (tests/interop/witness_client.py) speaks the same protocol."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.main import api_app
from audit.checkpoint import Checkpoint, b64, open_checkpoint
from audit.cosigning import WitnessPolicy, cosigned_note, gather
from audit.merkle import MemoryTree, consistency_proof, leaf_hash
from audit.note import Signer, split
from audit.tree import StoredTree
from audit.witness import CosignerKey, Submission
from domain.errors import AuditFailed, InvalidInput
from runtime.bootstrap import build_worker
from runtime.decisions import DecisionClient
from runtime.settings import Settings
from store.councils import Councils
from store.eventstore import EventStore
from tests.councils import TEST_COUNCIL
from tests.integration.store.test_read_models import record
from tests.integration.workflows.test_checkpoints import published
from tests.ports import free_port
from tests.shutdown import bounded
from tests.unit.domain.scenario import Scenario

pytestmark = pytest.mark.slow

ORIGIN: Final = "concord.test/log"
CONCORD: Final = str(Path(sys.executable).parent / "concord")
CLIENT: Final = Path(__file__).parents[2] / "interop" / "witness_client.py"


@dataclass
class RunningWitness:
    url: str
    key: CosignerKey
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def key(tmp_path: Path) -> Signer:
    signer = Signer.generate(ORIGIN)
    (tmp_path / "log.key").write_text(signer.encode() + "\n")
    return signer


@pytest.fixture
def witnesses(tmp_path: Path, key: Signer) -> Iterator[list[RunningWitness]]:
    """Two witnesses of the log, each its own process with its own key and state."""
    running: list[RunningWitness] = []
    try:
        for number in (1, 2):
            state, port = tmp_path / f"witness-{number}", free_port()
            name = f"w{number}.example/witness"
            log = tmp_path / f"witness-{number}.log"
            with log.open("wb") as output:
                process = subprocess.Popen(
                    [CONCORD, "witness", "serve", "--state", str(state), "--name", name,
                     "--log", key.verifier.encode(), "--port", str(port)],
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            running.append(RunningWitness(url, _key_of(url, process, log), process, log))
        yield running
    finally:
        for witness in running:
            witness.process.send_signal(signal.SIGTERM)
        for witness in running:
            assert witness.process.wait(timeout=30) == 0, witness.log.read_text()


def _key_of(url: str, process: subprocess.Popen[bytes], log: Path) -> CosignerKey:
    for _ in range(200):
        if process.poll() is not None:
            raise AssertionError(f"the witness exited: {log.read_text()}")
        try:
            return CosignerKey.parse(httpx.get(url, timeout=1).text)
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError("the witness did not start")


def policy_of(witnesses: list[RunningWitness], quorum: int) -> WitnessPolicy:
    return WitnessPolicy.parse(policy_text(witnesses, quorum))


@pytest.fixture
async def witnessed_worker(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    tmp_path: Path,
    key: Signer,
    witnesses: list[RunningWitness],
) -> AsyncIterator[Worker]:
    async with bounded(
        f"the worker on task queue {task_queue}",
        build_worker(
            env.client,
            store,
            task_queue,
            signing_key_file=tmp_path / "log.key",
            log_origin=ORIGIN,
            witnesses=policy_of(witnesses, 2),
        ),
    ) as running:
        yield running


async def served_checkpoint(
    env: WorkflowEnvironment, store: EventStore, task_queue: str, home: Path, policy: str
) -> str:
    """GET /log/checkpoint from the API of an installation whose settings name witnesses."""
    (home / "witnesses").write_text(policy)
    settings = Settings(
        data_dir=home, log_key_file=home / "log.key", witness_policy_file=home / "witnesses"
    )
    decisions = DecisionClient(
        env.client, task_queue, rosters=Councils(store, default=TEST_COUNCIL).roster_book
    )
    app = api_app(decisions, store, settings=settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://concord.test") as http:
        answer = await http.get("/log/checkpoint")
    assert answer.status_code == 200, answer.text
    return answer.text


def policy_text(witnesses: list[RunningWitness], quorum: int) -> str:
    return "".join(f"witness {w.key.encode()} {w.url}\n" for w in witnesses) + f"quorum {quorum}\n"


async def test_two_witnesses_cosign_a_growing_log_and_the_served_checkpoint_carries_them(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    tmp_path: Path,
    key: Signer,
    witnesses: list[RunningWitness],
    witnessed_worker: Worker,
) -> None:
    policy = policy_of(witnesses, 2)
    await record(store, Scenario("d-witnessed-1").round_open())
    first = await published(env, task_queue)
    assert first.outcome == "kept"
    served = await served_checkpoint(env, store, task_queue, tmp_path, policy_text(witnesses, 2))
    checkpoint, times = policy.check(served, key.verifier)
    assert checkpoint.size == first.size and set(times) == {w.key.name for w in witnesses}

    await record(store, Scenario("d-witnessed-2").planned())
    grown = await published(env, task_queue)
    assert grown.outcome == "kept" and grown.size > first.size
    served = await served_checkpoint(env, store, task_queue, tmp_path, policy_text(witnesses, 2))
    checkpoint, times = policy.check(served, key.verifier)
    assert checkpoint.size == grown.size and len(times) == 2
    assert await store.checkpoints.witnessed_sizes() == {
        f"{w.key.name}+{w.key.id.hex()}": grown.size for w in witnesses
    }

    # An event's proof is against the earliest checkpoint the witnesses cosigned that holds it,
    # and says when they did: the event existed by then, on their word.
    (tmp_path / "policy").write_text(policy_text(witnesses, 2))
    cli = {
        **os.environ,
        "CONCORD_DATA_DIR": str(tmp_path),
        "CONCORD_DATABASE_URL": store.url,
        "CONCORD_LOG_KEY_FILE": str(tmp_path / "log.key"),
        "CONCORD_WITNESS_POLICY_FILE": str(tmp_path / "policy"),
    }
    for position, size in ((2, first.size), (grown.size, grown.size)):
        proved = subprocess.run(
            [CONCORD, "audit", "prove", "--position", str(position), "-o", str(tmp_path / "p")],
            capture_output=True, text=True, env=cli, timeout=60,
        )  # fmt: skip
        said = " ".join((proved.stdout + proved.stderr).split())
        assert proved.returncode == 0, said
        assert f"the checkpoint of {size} holding position {position} is cosigned by 2" in said
        assert "existed by 20" in said
        checked = subprocess.run(
            [CONCORD, "audit", "check", str(tmp_path / "p"), "--key", key.verifier.encode(),
             "--policy", str(tmp_path / "policy")],
            capture_output=True, text=True, env=cli, timeout=60,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stderr
        assert "cosigned by 2 of the policy's witnesses (2 needed)" in checked.stdout

    # An export's evidence carries the witnesses' cosignatures too.
    exported = subprocess.run(
        [CONCORD, "audit", "export", "d-witnessed-1", "--format", "jsonl", "-o",
         str(tmp_path / "d.jsonl")],
        capture_output=True, text=True, env=cli, timeout=60,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    bundle = tmp_path / "d.jsonl.evidence.json"
    checked = subprocess.run(
        [CONCORD, "audit", "check", str(bundle), "--events", str(tmp_path / "d.jsonl"),
         "--key", key.verifier.encode(), "--policy", str(tmp_path / "policy")],
        capture_output=True, text=True, env=cli, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert f"tree of {first.size}, signed by" in checked.stdout, "the earliest cosigned"
    assert "cosigned by 2 of the policy's witnesses" in checked.stdout

    (tmp_path / "cosigned").write_text(served)
    (tmp_path / "bare").write_text(split(served)[0] + "\n" + split(served)[1][0].line())
    for held, expected in (("cosigned", 0), ("bare", 1)):
        verified = subprocess.run(
            [CONCORD, "audit", "verify", "--checkpoint", str(tmp_path / held), "--key",
             key.verifier.encode(), "--policy", str(tmp_path / "policy")],
            capture_output=True, text=True, env=cli, timeout=60,
        )  # fmt: skip
        assert verified.returncode == expected, verified.stdout + verified.stderr
    assert "carries 0 valid cosignature(s)" in verified.stderr

    # A verifier whose policy asks for a witness that did not cosign refuses the checkpoint.
    stranger = CosignerKey("w3.example/witness", bytes(32))
    stricter = WitnessPolicy.parse(
        "\n".join([*(f"witness {w.key.encode()}" for w in witnesses),
                   f"witness {stranger.encode()}", "quorum 3"])
    )  # fmt: skip
    with pytest.raises(AuditFailed, match=r"carries 2 valid cosignature.*needs 3"):
        stricter.check(served, key.verifier)
    # A cosignature moved onto another checkpoint is not one.
    _, signatures = split(served)
    other = key.sign(Checkpoint(ORIGIN, 1, bytes(32)).text())
    moved = other + "".join(s.line() for s in signatures if s.name != key.name)
    with pytest.raises(AuditFailed, match="carries 0 valid"):
        policy.check(moved, key.verifier)


async def test_a_witness_that_was_away_cosigns_on_the_next_run(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    tmp_path: Path,
    key: Signer,
    witnesses: list[RunningWitness],
) -> None:
    away = f"http://127.0.0.1:{free_port()}"
    lines = [
        f"witness {witnesses[0].key.encode()} {away}",
        f"witness {witnesses[1].key.encode()} {witnesses[1].url}",
    ]
    policy = WitnessPolicy.parse("\n".join([*lines, "quorum 2"]))
    await record(store, Scenario("d-away").round_open())
    async with build_worker(
        env.client, store, task_queue, signing_key_file=tmp_path / "log.key",
        log_origin=ORIGIN, witnesses=policy,
    ):  # fmt: skip
        kept = await published(env, task_queue)
    latest = await store.checkpoints.latest()
    assert latest is not None
    assert len(policy.cosigned(await cosigned_note(store, latest.signed, kept.size))) == 1

    back = policy_of(witnesses, 2)
    async with build_worker(
        env.client, store, task_queue, signing_key_file=tmp_path / "log.key",
        log_origin=ORIGIN, witnesses=back,
    ):  # fmt: skip
        again = await published(env, task_queue)
    assert again.outcome == "unchanged"
    assert len(back.cosigned(await cosigned_note(store, latest.signed, kept.size))) == 2


async def test_witnesses_refuse_a_fork_and_a_rollback_from_a_forger_holding_the_log_key(
    env: WorkflowEnvironment,
    store: EventStore,
    task_queue: str,
    key: Signer,
    witnesses: list[RunningWitness],
    witnessed_worker: Worker,
) -> None:
    await record(store, Scenario("d-forked").round_open())
    honest = await published(env, task_queue)
    size = honest.size
    assert size is not None and size >= 4
    policy = policy_of(witnesses, 2)

    # Another tree signed with the log's own key: same size, another root; then larger, with a
    # consistency proof of the forger's own tree, which does not extend the one cosigned.
    forged = MemoryTree()
    for n in range(size + 3):
        forged.append(leaf_hash(b"forged %d" % n))
    same_size = key.sign(Checkpoint(ORIGIN, size, await forged.root(size)).text())
    larger = key.sign(Checkpoint(ORIGIN, size + 3, await forged.root(size + 3)).text())
    proof = tuple(await consistency_proof(forged.subtree, size, size + 3))
    smaller = key.sign(Checkpoint(ORIGIN, size - 2, await StoredTree(store).root(size - 2)).text())
    async with httpx.AsyncClient() as http:
        for witness in witnesses:
            fork = await http.post(
                f"{witness.url}/add-checkpoint", content=Submission(size, (), same_size).body()
            )
            assert (fork.status_code, fork.headers["content-type"][:10]) == (409, "text/plain")
            assert "fork" in fork.text
            unproved = await http.post(
                f"{witness.url}/add-checkpoint", content=Submission(size, proof, larger).body()
            )
            assert unproved.status_code == 422 and "fork" in unproved.text
            rollback = await http.post(
                f"{witness.url}/add-checkpoint", content=Submission(size - 2, (), smaller).body()
            )
            assert rollback.status_code == 409
            assert rollback.headers["content-type"].startswith("text/x.tlog.size")
            assert rollback.text == f"{size}\n"
            backwards = await http.post(
                f"{witness.url}/add-checkpoint", content=Submission(size, (), smaller).body()
            )
            assert backwards.status_code == 400
            stranger = Signer.generate(ORIGIN).sign(Checkpoint(ORIGIN, size, bytes(32)).text())
            unsigned = await http.post(
                f"{witness.url}/add-checkpoint", content=Submission(size, (), stranger).body()
            )
            assert unsigned.status_code == 403
            other = Signer.generate("other.example/log")
            unknown = await http.post(
                f"{witness.url}/add-checkpoint",
                content=Submission(
                    0, (), other.sign(Checkpoint(other.name, 1, bytes(32)).text())
                ).body(),
            )
            assert unknown.status_code == 404
            for bad in (
                b"old 01\n\n" + same_size.encode(),
                b"new 3\n\n",
                b"\xff",
                b"old 1\nnot-base64\n\n",
            ):
                assert (
                    await http.post(f"{witness.url}/add-checkpoint", content=bad)
                ).status_code == 400
            huge = await http.post(f"{witness.url}/add-checkpoint", content=b"x" * 70_000)
            assert huge.status_code == 413

        # The publisher's own gathering from the forger's tree: both witnesses name the fork.
        forged_checkpoint = Checkpoint(ORIGIN, size + 3, await forged.root(size + 3))
        gathered = await gather(store, _ForgedTree(forged), policy, larger, forged_checkpoint, http)
    assert gathered.cosignatures == [] and len(gathered.forks) == 2

    # After all that, both still stand where they were, and cosign the honest log's growth.
    await record(store, Scenario("d-after").round_open())
    grown = await published(env, task_queue)
    latest = await store.checkpoints.latest()
    assert latest is not None and latest.size == grown.size
    _, times = policy.check(await cosigned_note(store, latest.signed, latest.size), key.verifier)
    assert len(times) == 2


class _ForgedTree(StoredTree):
    """The forger's tree, answering consistency proofs as a stored tree would."""

    def __init__(self, tree: MemoryTree) -> None:
        self._tree = tree

    async def consistency(self, old: int, new: int) -> list[bytes]:
        return await consistency_proof(self._tree.subtree, old, new)


def test_a_client_written_from_the_spec_gets_a_cosignature_and_a_conflict(
    tmp_path: Path, key: Signer, witnesses: list[RunningWitness]
) -> None:
    """tests/interop/witness_client.py: the standard library and PyNaCl, nothing of Concord's."""
    tree = MemoryTree()
    for n in range(10):
        tree.append(leaf_hash(b"entry %d" % n))
    first, second = tmp_path / "first.cp", tmp_path / "second.cp"
    first.write_text(key.sign(Checkpoint(ORIGIN, 6, asyncio.run(tree.root(6))).text()))
    second.write_text(key.sign(Checkpoint(ORIGIN, 10, asyncio.run(tree.root(10))).text()))
    proof = tmp_path / "proof"
    proof.write_text("\n".join(b64(asyncio.run(consistency_proof(tree.subtree, 6, 10)))) + "\n")
    witness = witnesses[0]

    def client(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(CLIENT), witness.url, witness.key.encode(), *args],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip

    done = client(str(first), "0")
    assert done.returncode == 0 and done.stdout.startswith(f"cosigned {witness.key.name} ")
    stale = client(str(second), "0", str(proof))
    assert (stale.returncode, stale.stdout) == (1, "conflict 6\n")
    grown = client(str(second), "6", str(proof))
    assert grown.returncode == 0, grown.stdout + grown.stderr
    proof.write_text("\n".join(b64([bytes(32)] * 4)) + "\n")
    assert client(str(second), "10", str(proof)).stdout.startswith("refused 400")


def test_a_policy_names_its_witnesses_and_a_quorum_it_can_reach() -> None:
    witness = CosignerKey("w1.example/witness", bytes(32)).encode()
    assert (
        WitnessPolicy.parse(f"# ours\nwitness {witness} http://w1.example\nquorum 1\n").quorum == 1
    )
    for text, message in [
        ("", "at least one witness"),
        (f"witness {witness}\n", "quorum"),
        (f"witness {witness}\nquorum 2\n", "k from 1 to 1"),
        (f"witness {witness}\nwitness {witness}\nquorum 1\n", "named twice"),
        (f"witness {witness} ftp://w1\nquorum 1\n", "http"),
        ("witness not-a-key\nquorum 1\n", "witness-key"),
        (f"witness {witness}\nquorum 1\nfoo\n", "line 3"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            WitnessPolicy.parse(text)


def test_audit_check_holds_a_proof_to_a_policy(tmp_path: Path, key: Signer) -> None:
    """`concord audit check --policy`: a checkpoint without a quorum of cosignatures fails."""
    env = {**os.environ, "CONCORD_DATA_DIR": str(tmp_path)}
    tree = MemoryTree()
    for n in range(3):
        tree.append(leaf_hash(b"entry %d" % n))
    from audit.witness import Witness

    cosigner = Witness("w1.example/witness", bytes(range(32)))
    text = Checkpoint(ORIGIN, 3, asyncio.run(tree.root(3))).text()
    signed = key.sign(text)
    proof = asyncio.run(tree.subtree(0, 1))  # leaf 1's sibling: the proof of leaf 0 needs more
    from audit.merkle import inclusion_proof

    path = asyncio.run(inclusion_proof(tree.subtree, 0, 3))
    assert proof == path[0]
    policy = tmp_path / "policy"
    policy.write_text(f"witness {cosigner.key.encode()}\nquorum 1\n")

    def check(checkpoint: str) -> subprocess.CompletedProcess[str]:
        document = {
            "kind": "inclusion",
            "checkpoint": checkpoint,
            "position": 1,
            "index": 0,
            "entry": base64.b64encode(b"entry 0").decode(),
            "proof": b64(path),
        }
        import json

        (tmp_path / "proof.json").write_text(json.dumps(document))
        return subprocess.run(
            [CONCORD, "audit", "check", str(tmp_path / "proof.json"), "--key",
             key.verifier.encode(), "--policy", str(policy)],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip

    bare = check(signed)
    assert bare.returncode == 1 and "carries 0 valid cosignature" in bare.stderr
    cosigned = signed + cosigner.cosignature(text, 1_800_000_000).line()
    held = check(cosigned)
    assert held.returncode == 0, held.stderr
    assert (
        "cosigned by 1 of the policy's witnesses (1 needed): w1.example/witness at 2027-01-15"
        in held.stdout
    )
    assert open_checkpoint(cosigned, key.verifier).size == 3
