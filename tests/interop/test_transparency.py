"""Checkpoints and proofs an outside auditor verifies without Concord: Go's sumdb `note` and
`tlog` packages (a separate implementation, built offline from Debian's packages) and a second
Ed25519 library (PyNaCl) check what `concord audit` signs and proves."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nacl.signing
import pytest
from sqlalchemy import text

from audit.note import split
from store.eventstore import EventStore
from store.migrate import upgrade
from tests.integration.store.raw_sql import raw_transaction
from tests.integration.store.test_read_models import record
from tests.unit.domain.scenario import Scenario

pytestmark = pytest.mark.slow

CONCORD = str(Path(sys.executable).parent / "concord")
HERE = Path(__file__).parent
GOPATH = "/usr/share/gocode"


@pytest.fixture(scope="session")
def go_verifier(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/interop/verify_proof.go, built offline (GO111MODULE=off) against Debian's
    golang.org/x/mod; missing Go fails the run under CONCORD_REQUIRE_INTEROP=1, skips otherwise."""
    return go_built(tmp_path_factory, "verify_proof")


@pytest.fixture(scope="session")
def go_tiles(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/interop/verify_tiles.go, built as go_verifier is."""
    return go_built(tmp_path_factory, "verify_tiles")


def go_built(tmp_path_factory: pytest.TempPathFactory, program: str) -> str:
    sources = Path(GOPATH) / "src/golang.org/x/mod/sumdb/tlog"
    if shutil.which("go") is None or not sources.exists():
        message = "Go and golang-golang-x-mod-dev are not installed"
        if os.environ.get("CONCORD_REQUIRE_INTEROP") == "1":
            pytest.fail(f"{message}; CONCORD_REQUIRE_INTEROP=1 requires them", pytrace=False)
        pytest.skip(message)
    built = tmp_path_factory.mktemp("go")
    binary = built / program
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": f"{built}:{GOPATH}",
        "GOCACHE": str(built / "cache"),
    }
    subprocess.run(
        ["go", "build", "-o", str(binary), str(HERE / f"{program}.go")],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return str(binary)


class Auditor:
    """`concord audit` on a store of its own, with the log's key in a file of its own."""

    def __init__(self, url: str, home: Path) -> None:
        self.home = home
        self.env = {
            **os.environ,
            "CONCORD_DATABASE_URL": url,
            "CONCORD_DATA_DIR": str(home),
            "CONCORD_LOG_ORIGIN": "nrc.example/concord",
            "CONCORD_LOG_KEY_FILE": str(home / "keys" / "log.key"),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CONCORD, "audit", *args], env=self.env, capture_output=True, text=True, timeout=60
        )

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def file(self, name: str, *args: str) -> Path:
        path = self.home / name
        self.ok(*args, "-o", str(path))
        return path


@pytest.fixture
def auditor(tmp_path: Path) -> Iterator[tuple[Auditor, str]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'concord.db'}"
    asyncio.run(upgrade(url))
    yield Auditor(url, tmp_path), url


async def grow(url: str, name: str) -> None:
    from store.eventstore import open_store

    store: EventStore = await open_store(url)
    try:
        await record(store, Scenario(name).round_open())
    finally:
        await store.close()


def go(binary: str, key: str, proof: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, key, str(proof)], capture_output=True, text=True, timeout=60)


def test_checkpoints_and_proofs_verify_outside_concord_and_fail_when_altered(
    auditor: tuple[Auditor, str], go_verifier: str
) -> None:
    audit, url = auditor
    asyncio.run(grow(url, "d-one"))
    vkey = audit.ok("keygen").strip().splitlines()[-1]
    assert vkey == audit.ok("pubkey").strip()
    assert oct((audit.home / "keys" / "log.key").stat().st_mode & 0o777) == "0o600"
    first = audit.file("cp1", "checkpoint")
    asyncio.run(grow(url, "d-two"))
    second = audit.file("cp2", "checkpoint")

    # A second Ed25519 library checks the signature over the checkpoint's text.
    body, [signature] = split(second.read_text())
    public = base64.b64decode(vkey.split("+", 2)[2])[1:]
    nacl.signing.VerifyKey(public).verify(body.encode(), signature.signature)
    assert body.startswith("nrc.example/concord\n")

    size = int(body.splitlines()[1])
    for position in (1, size // 2, size):
        proof = audit.file(
            f"in{position}", "prove", "--position", str(position), "--checkpoint", str(second)
        )
        assert audit.run("check", str(proof), "--key", vkey).returncode == 0
        assert go(go_verifier, vkey, proof).returncode == 0, go(go_verifier, vkey, proof).stderr
    extends = json.loads(audit.ok("verify", "--checkpoint", str(first), "--json"))
    assert extends["ok"] and "extends the checkpoint" in extends["checkpoint"]
    grown = audit.file("grown", "prove", "--since", str(first), "--checkpoint", str(second))
    assert audit.run("check", str(grown), "--key", vkey).returncode == 0
    assert go(go_verifier, vkey, grown).returncode == 0

    state = str(audit.home / "witness")
    first_cosigned = audit.ok("witness", str(first), "--log-key", vkey, "--state", state)
    assert first_cosigned.count("\u2014 ") == 2
    audit.ok("witness", str(second), "--log-key", vkey, "--state", state, "--proof", str(grown))
    rollback = audit.run("witness", str(first), "--log-key", vkey, "--state", state)
    assert rollback.returncode == 1 and "rollback" in rollback.stderr
    assert audit.ok("witness-key", "--state", state).startswith("witness.local/concord+")

    proof = json.loads((audit.home / "in1").read_text())
    altered = dict(proof, entry=base64.b64encode(b"{}").decode())
    (audit.home / "altered").write_text(json.dumps(altered))
    assert audit.run("check", str(audit.home / "altered"), "--key", vkey).returncode == 1
    assert go(go_verifier, vkey, audit.home / "altered").returncode == 1
    wrong = "other.example+00000000+" + base64.b64encode(b"\x01" + bytes(32)).decode()
    assert audit.run("check", str(audit.home / "in1"), "--key", wrong).returncode != 0
    assert go(go_verifier, wrong, audit.home / "in1").returncode == 1


async def rewrite(url: str, position: int, old: str, new: str) -> None:
    """An operator edits the event at `position` (`old` becomes `new` in its stored bytes) and
    rebuilds everything derived from the log."""
    await edit_in_place(url, position, old, new)
    async with raw_transaction(url) as connection:
        await connection.execute(text("DELETE FROM merkle_subtrees"))
        await connection.execute(
            text("UPDATE projection_positions SET position = 0 WHERE name = 'merkle_tree'")
        )


def test_a_log_rewritten_after_a_checkpoint_is_caught_by_the_consistency_proof(
    auditor: tuple[Auditor, str], go_verifier: str
) -> None:
    audit, url = auditor
    asyncio.run(grow(url, "d-one"))
    vkey = audit.ok("keygen").strip().splitlines()[-1]
    old = audit.file("old", "checkpoint")

    honest = audit.file("honest", "prove", "--position", "1", "--checkpoint", str(old))
    asyncio.run(rewrite(url, 1, "POL", "USA"))
    asyncio.run(grow(url, "d-two"))

    # No proof is written from a rewritten log, and none is signed (the signer's own check).
    refused = audit.run("prove", "--since", str(old), "-o", str(audit.home / "proof"))
    assert refused.returncode == 1, refused.stderr
    assert "position 1 does not hash to its chain hash" in refused.stderr
    assert not (audit.home / "proof").exists()
    assert audit.run("checkpoint").returncode == 1
    caught = audit.run("verify", "--checkpoint", str(old), "--key", vkey)
    assert caught.returncode == 1 and "extend the checkpoint of" in caught.stderr
    assert "extends the checkpoint" not in caught.stdout + caught.stderr
    # The proof made before still holds for what the checkpoint signed.
    assert go(go_verifier, vkey, honest).returncode == 0


async def synthetic(url: str, decision_id: str, count: int) -> None:
    """`count` more events of one decision, written straight to the store (the tree and the
    tiles do not read what an event says)."""
    from datetime import UTC, datetime, timedelta

    from store.eventstore import open_store
    from store.records import NewEvent, event_id_for

    store: EventStore = await open_store(url)
    try:
        version = await store.stream_version(decision_id)
        events = [
            NewEvent(
                event_id=event_id_for(decision_id, v),
                decision_id=decision_id,
                stream_version=v,
                type="ConcurrenceRecorded",
                payload={"round": 1, "text_hash": "ab" * 32, "seq": v},
                actor="RUS",
                recorded_by="member:RUS",
                occurred_at=datetime(2004, 12, 9, tzinfo=UTC) + timedelta(seconds=v),
            )
            for v in range(version + 1, version + count + 1)
        ]
        await store.append(decision_id, version, events)
    finally:
        await store.close()


async def keep_checkpoints(url: str, key_file: Path, sizes: tuple[int, ...]) -> None:
    """Keep signed checkpoints of the tree at `sizes`, as the checkpoint schedule does."""
    from audit.checkpoint import Checkpoint
    from audit.note import Signer
    from audit.tree import caught_up
    from store.eventstore import open_store

    key = Signer.parse(key_file.read_text())
    store: EventStore = await open_store(url)
    try:
        tree = await caught_up(store)
        for size in sizes:
            root = await tree.root(size)
            signed = key.sign(Checkpoint("nrc.example/concord", size, root).text())
            await store.checkpoints.keep(size, root, signed)
    finally:
        await store.close()


def test_verify_says_where_a_rewritten_log_departs_from_a_checkpoint(
    auditor: tuple[Auditor, str],
) -> None:
    audit, url = auditor
    asyncio.run(grow(url, "d-one"))
    asyncio.run(grow(url, "d-two"))
    audit.ok("keygen")
    old = audit.file("old", "checkpoint")
    size = int(old.read_text().splitlines()[1])
    assert size >= 6
    saved = audit.home / "tiles-then"
    audit.ok("tiles", "-o", str(saved))
    asyncio.run(keep_checkpoints(url, audit.home / "keys" / "log.key", (2, 5)))

    asyncio.run(rewrite(url, 4, '"occurred_at":"', '"occurred_at":"1'))
    bounded = audit.run("verify", "--checkpoint", str(old))
    assert bounded.returncode == 1
    assert "does not extend the checkpoint" in bounded.stderr
    assert "departs between positions 3 and 5" in " ".join(bounded.stderr.split())

    exact = audit.run("verify", "--checkpoint", str(old), "--tiles", str(saved))
    said = " ".join(exact.stderr.split())
    assert exact.returncode == 1
    assert "departs at position 4: the checkpoint's log has" in said
    assert "(occurred 1" in said, "today's side shows the rewritten instant"

    other = audit.home / "tiles-other"
    shutil.copytree(saved, other)
    (other / "tile" / "entries" / "000.p" / str(size)).write_bytes(b"\x00\x01x")
    refused = audit.run("verify", "--checkpoint", str(old), "--tiles", str(other))
    assert refused.returncode != 0 and "tiles" in refused.stderr


def test_the_tiles_are_verified_by_go_and_written_again_only_where_the_log_grew(
    auditor: tuple[Auditor, str], go_tiles: str
) -> None:
    audit, url = auditor
    asyncio.run(synthetic(url, "d-tiles", 300))
    vkey = audit.ok("keygen").strip().splitlines()[-1]
    out = audit.home / "www"
    audit.ok("tiles", "-o", str(out))
    first = {p.relative_to(out) for p in out.rglob("*") if p.is_file()}
    assert {Path("checkpoint"), Path("tile/0/000"), Path("tile/0/001.p/44")} <= first
    assert Path("tile/entries/001.p/44") in first and Path("tile/1/000.p/1") in first
    verified = subprocess.run([go_tiles, vkey, str(out)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok: 300 entries")

    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    asyncio.run(synthetic(url, "d-tiles", 300))
    audit.ok("tiles", "-o", str(out))
    after = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert after[out / "tile/0/000"] == before[out / "tile/0/000"], "a full tile is not rewritten"
    assert (out / "tile/0/002.p/88").exists() and (out / "tile/1/000.p/2").exists()
    verified = subprocess.run([go_tiles, vkey, str(out)], capture_output=True, text=True)
    assert verified.returncode == 0 and verified.stdout.startswith("ok: 600 entries")

    tampered = out / "tile/0/001"
    data = bytearray(tampered.read_bytes())
    data[0] ^= 1
    tampered.write_bytes(bytes(data))
    assert subprocess.run([go_tiles, vkey, str(out)], capture_output=True).returncode == 1


def exported_check(vkey: str, events: Path, evidence: Path) -> subprocess.CompletedProcess[str]:
    """tests/interop/check_export.py: hashlib, rfc8785 and PyNaCl, nothing of Concord's."""
    return subprocess.run(
        [sys.executable, str(HERE / "check_export.py"), vkey, str(events), str(evidence)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=HERE.parent.parent.parent,
    )


def test_an_export_is_checked_from_its_files_alone_and_any_change_to_it_is_caught(
    auditor: tuple[Auditor, str],
) -> None:
    """The JSONL and CSV exports carry every field each hash covers, byte-exact; with their
    evidence, a script that imports nothing of Concord's recomputes each hash and proves each
    event in the signed tree, and so does `concord audit check`."""
    audit, url = auditor
    asyncio.run(answered(url, "d-one"))
    vkey = audit.ok("keygen").strip().splitlines()[-1]
    exported = audit.file("e.jsonl", "export", "d-one", "--format", "jsonl")
    evidence = audit.home / "e.jsonl.evidence.json"
    events = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [e["stream_version"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["recorded_at"].endswith("Z") and "stream_prev_hash" in e for e in events)
    outside = exported_check(vkey, exported, evidence)
    assert outside.returncode == 0, outside.stderr
    assert f"{len(events)} events in nrc.example/concord's tree" in outside.stdout
    ours = audit.run("check", str(evidence), "--events", str(exported), "--key", vkey)
    assert ours.returncode == 0, ours.stderr

    table = audit.file("e.csv", "export", "d-one", "--format", "csv")
    assert table.read_text().splitlines()[0].startswith("position,event_id,decision_id")
    from_csv = audit.run(
        "check", str(audit.home / "e.csv.evidence.json"), "--events", str(table), "--key", vkey
    )
    assert from_csv.returncode == 0, from_csv.stderr

    # A forger with the files: an objection turned into silence, a line dropped, an event
    # moved from another decision. Each is caught by both checkers, naming the position.
    objection = next(e for e in events if e["type"] == "SilenceBroken")
    edits = {
        "edited": [
            {**e, "payload": {**e["payload"], "reasons": "none"}} if e is objection else e
            for e in events
        ],
        "dropped": [e for e in events if e is not objection],
    }
    for name, forged in edits.items():
        path = audit.home / f"{name}.jsonl"
        path.write_text("".join(json.dumps(e) + "\n" for e in forged))
        caught = exported_check(vkey, path, evidence)
        assert caught.returncode == 1, (name, caught.stdout)
        assert f"position {objection['position']}" in caught.stderr or name == "dropped"
        by_concord = audit.run("check", str(evidence), "--events", str(path), "--key", vkey)
        assert by_concord.returncode == 1, (name, by_concord.stdout)

    # The same events under another key's checkpoint, or a checkpoint of another tree.
    other = json.loads(evidence.read_text())
    other["proofs"][0]["proof"] = other["proofs"][1]["proof"]
    tampered = audit.home / "tampered.evidence.json"
    tampered.write_text(json.dumps(other))
    assert exported_check(vkey, exported, tampered).returncode == 1
    assert (
        audit.run("check", str(tampered), "--events", str(exported), "--key", vkey).returncode == 1
    )
    stranger = nacl.signing.SigningKey.generate()
    stranger_vkey = (
        vkey.split("+")[0]
        + "+00000000+"
        + base64.b64encode(b"\x01" + bytes(stranger.verify_key)).decode()
    )
    assert exported_check(stranger_vkey, exported, evidence).returncode == 1

    assert "format" in audit.run("export", "d-one", "--format", "pdf", "-o", "x").stderr
    assert "events" in audit.run("check", str(evidence), "--key", vkey).stderr


async def signed_answers(url: str, decision_id: str, forge: bool = False) -> int:
    """RUS (a first key, then a rotation it endorsed) and NOR each sign their answers; USA's
    stays unsigned. With `forge`, a concurrence in NOR's name signed by a key the secretariat
    made is then written into the store, well chained. The position of the last event."""
    from datetime import UTC, datetime

    from audit.keys import KeyBook, KeyRequest
    from audit.signing import MemberKey
    from store.eventstore import open_store

    origin, by = "nrc.example/concord", "operator:secretariat"
    store: EventStore = await open_store(url)
    try:
        book = KeyBook(store, origin)
        first, rus, nor = (MemberKey.generate(m) for m in ("RUS", "RUS", "NOR"))
        await book.register(KeyRequest.made(origin, first), by)
        await book.register(KeyRequest.made(origin, rus, first), by)
        await book.register(KeyRequest.made(origin, nor), by)
        scenario = Scenario(decision_id, now=datetime.now(UTC)).round_open()
        text_hash = scenario.s.round(1).text_hash
        answer = scenario.command(
            "break_silence", "RUS", round=1, text_hash=text_hash, reasons="No"
        )
        scenario.execute(rus.sign_answer(answer, origin, "k-rus"))
        concern = scenario.command("register_concern", "NOR", round=1, statement="Rights")
        scenario.execute(nor.sign_answer(concern, origin, "k-nor"))
        scenario.do("concur", "USA", round=1, text_hash=text_hash)
        if forge:
            forged = scenario.command("concur", "NOR", round=1, text_hash=text_hash)
            scenario.execute(MemberKey.generate("NOR").sign_answer(forged, origin, "k-forged"))
        await record(store, scenario)
        return (await store.head())[0]
    finally:
        await store.close()


def test_signed_answers_are_checked_from_the_export_and_its_key_registry_alone(
    auditor: tuple[Auditor, str],
) -> None:
    """Each signed answer of an export, checked by a script that imports nothing of Concord's
    against the key registry's events the evidence carries; a concurrence a forger holding the
    database wrote in NOR's name, well chained and in the signed tree, fails at its position."""
    audit, url = auditor
    asyncio.run(signed_answers(url, "d-signed"))
    vkey = audit.ok("keygen").strip().splitlines()[-1]
    exported = audit.file("s.jsonl", "export", "d-signed", "--format", "jsonl")
    evidence = audit.home / "s.jsonl.evidence.json"
    outside = exported_check(vkey, exported, evidence)
    assert outside.returncode == 0, outside.stderr
    assert "2 signed answers verified against 3 key changes" in outside.stdout
    ours = audit.run("check", str(evidence), "--events", str(exported), "--key", vkey)
    assert ours.returncode == 0 and "2 signed answer(s) verified" in ours.stdout, ours.stderr
    page = audit.file("s.html", "export", "d-signed").read_text()
    assert "objected: No <em>(signed)</em>" in page and "Rights <em>(signed)</em>" in page

    # The registry the evidence carries is the log's: a key swapped in the file is caught.
    bound = json.loads(evidence.read_text())
    stranger = nacl.signing.SigningKey.generate()
    swapped = bound["key_registry"][2]
    swapped["payload"]["public_key"] = (
        base64.urlsafe_b64encode(bytes(stranger.verify_key)).rstrip(b"=").decode()
    )
    edited = audit.home / "swapped.evidence.json"
    edited.write_text(json.dumps(bound))
    caught = exported_check(vkey, exported, edited)
    assert caught.returncode == 1 and f"position {swapped['position']}" in caught.stderr

    position = asyncio.run(signed_answers(url, "d-forged", forge=True))
    forged = audit.file("f.jsonl", "export", "d-forged", "--format", "jsonl")
    forged_evidence = audit.home / "f.jsonl.evidence.json"
    caught = exported_check(vkey, forged, forged_evidence)
    assert caught.returncode == 1, caught.stdout
    assert f"position {position}: not signed by a key of NOR" in caught.stderr
    by_concord = audit.run("check", str(forged_evidence), "--events", str(forged), "--key", vkey)
    assert by_concord.returncode == 1 and f"position {position}" in by_concord.stderr


def test_every_answer_on_the_exported_page_is_bound_to_a_proof_go_verifies(
    auditor: tuple[Auditor, str], go_verifier: str
) -> None:
    """The HTML export embeds its events and evidence; each answer it shows links to the event
    that recorded it, whose inclusion in the signed tree Go's tlog.CheckRecord verifies."""
    import html
    import re

    import rfc8785

    audit, url = auditor
    asyncio.run(answered(url, "d-one"))
    vkey = audit.ok("keygen").strip().splitlines()[-1]
    page = audit.file("e.html", "export", "d-one").read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page

    def block(name: str) -> str:
        found = re.search(rf'<pre id="{name}">(.*?)</pre>', page, re.S)
        assert found is not None, name
        return html.unescape(found.group(1))

    events = {e["position"]: e for e in (json.loads(line) for line in block("events").splitlines())}
    evidence = json.loads(block("evidence"))
    for event in events.values():
        assert f'<code class="hash">{event["hash"]}</code>' in page
    linked = [int(p) for p in re.findall(r'<a href="#event-(\d+)">', page)]
    assert {events[p]["type"] for p in linked} == {
        "ConcurrenceRecorded",
        "SilenceBroken",
        "ConcernRegistered",
    }
    proofs = {p["position"]: p for p in evidence["proofs"]}
    fields = [
        "position", "event_id", "decision_id", "stream_version", "type", "schema_version",
        "actor", "recorded_by", "occurred_at", "recorded_at", "stream_prev_hash", "payload",
    ]  # fmt: skip
    for position in linked:
        entry = rfc8785.dumps({f: events[position][f] for f in fields})
        proof = audit.home / f"answer-{position}.json"
        proof.write_text(
            json.dumps(
                {
                    "kind": "inclusion",
                    "checkpoint": evidence["checkpoint"],
                    "index": position - 1,
                    "entry": base64.b64encode(entry).decode(),
                    "proof": proofs[position]["proof"],
                }
            )
        )
        checked = go(go_verifier, vkey, proof)
        assert checked.returncode == 0, (position, checked.stderr)
        # The same proof for another event's entry fails: the link binds this answer.
        other = events[linked[0] if position != linked[0] else linked[1]]
        forged = json.loads(proof.read_text())
        forged["entry"] = base64.b64encode(rfc8785.dumps({f: other[f] for f in fields})).decode()
        proof.write_text(json.dumps(forged))
        assert go(go_verifier, vkey, proof).returncode == 1


CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = HERE.parents[1] / "docs" / "export-timeline.png"


async def answered(url: str, decision_id: str) -> None:
    from store.eventstore import open_store

    scenario = Scenario(decision_id).round_open()
    text_hash = scenario.s.round(1).text_hash
    scenario.do("concur", "USA", round=1, text_hash=text_hash)
    scenario.do("break_silence", "RUS", round=1, text_hash=text_hash, reasons="Too narrow")
    scenario.do("register_concern", "NOR", round=1, statement="Human rights safeguards")
    store: EventStore = await open_store(url)
    try:
        await record(store, scenario)
    finally:
        await store.close()


def test_the_exported_page_renders_the_timeline_in_chromium(
    auditor: tuple[Auditor, str], tmp_path: Path
) -> None:
    """Opened in a browser (Playwright driving Debian's chromium), the page shows the rounds
    and each member's answer, offline; its screenshot is kept in docs/ when asked for
    (CONCORD_UPDATE_SCREENSHOTS=1)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CONCORD_REQUIRE_INTEROP") == "1":
            pytest.fail("chromium is not installed; CONCORD_REQUIRE_INTEROP=1 requires it")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    audit, url = auditor
    asyncio.run(answered(url, "d-page"))
    audit.ok("keygen")
    page_file = audit.file("d-page.html", "export", "d-page")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            page.goto(page_file.as_uri())
            round_one = page.locator("#round-1")
            assert "Round 1" in round_one.inner_text()
            rows = page.locator("#round-1 + p + table tr")
            answers = {
                cells[0]: cells[1]
                for cells in (
                    rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())
                )
                if cells
            }
            assert answers["USA"].startswith("concurred (#")
            assert answers["RUS"].startswith("objected: Too narrow (#")
            # Each answer links to the event that recorded it, in the timeline.
            page.locator("#round-1 + p + table tr", has_text="USA").locator("a").click()
            assert (
                "ConcurrenceRecorded" in page.locator(page.url[page.url.index("#") :]).inner_text()
            )
            assert answers["GBR"] == "silent" and len(answers) >= 20
            assert "Human rights safeguards" in page.inner_text("body")
            assert requests == [page_file.as_uri()], "the page loads nothing else"
            shot = tmp_path / "export-timeline.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
            if os.environ.get("CONCORD_UPDATE_SCREENSHOTS") == "1":
                shutil.copyfile(shot, SCREENSHOT)
        finally:
            browser.close()


def test_an_auditor_with_the_public_key_alone_is_told_the_truth_about_a_checkpoint(
    auditor: tuple[Auditor, str],
) -> None:
    audit, url = auditor
    for name in ("d-one", "d-two", "d-three", "d-four"):  # a first block of 16, stored whole
        asyncio.run(grow(url, name))
    vkey = audit.ok("keygen").strip().splitlines()[-1]
    old = audit.file("old", "checkpoint")
    assert int(old.read_text().splitlines()[1]) >= 16
    proof = audit.file("in3", "prove", "--position", "3", "--checkpoint", str(old))
    asyncio.run(grow(url, "d-five"))
    (audit.home / "keys" / "log.key").rename(audit.home / "elsewhere.key")  # not the auditor's

    holds = audit.run("verify", "--checkpoint", str(old), "--key", vkey)
    assert holds.returncode == 0, holds.stderr
    assert "extends the checkpoint of" in holds.stdout
    without = audit.run("verify", "--checkpoint", str(old))
    assert without.returncode == 2 and "--key" not in without.stderr.split(":")[0]

    # A proof whose leaf is not the position it names is not passed.
    relabelled = json.loads(proof.read_text()) | {"position": 7}
    (audit.home / "relabelled").write_text(json.dumps(relabelled))
    mislabelled = audit.run("check", str(audit.home / "relabelled"), "--key", vkey)
    assert mislabelled.returncode == 1 and "not the position 7" in mislabelled.stderr

    # A body edited in place, the stored tree left alone: never "extends ... unchanged".
    asyncio.run(edit_in_place(url, 1, "POL", "USA"))
    edited = audit.run("verify", "--checkpoint", str(old), "--key", vkey, "--json")
    assert edited.returncode == 1
    report = json.loads(edited.stdout)  # one document: the report, the reason on stderr
    assert report["ok"] is False and report["checkpoint"].startswith("cannot be shown")
    assert "extends the checkpoint" not in edited.stdout + edited.stderr


async def edit_in_place(url: str, position: int, old: str, new: str) -> None:
    """An operator edits the stored bytes of the event at `position`, and nothing else."""
    async with raw_transaction(url) as connection:
        await connection.execute(
            text(
                "UPDATE events SET body = CAST(replace(CAST(body AS TEXT), :old, :new) AS BLOB) "
                "WHERE position = :position"
            ),
            {"old": old, "new": new, "position": position},
        )


def test_a_log_cut_short_below_a_checkpoint_is_a_finding_naming_both_sizes(
    auditor: tuple[Auditor, str],
) -> None:
    audit, url = auditor
    for name in ("d-one", "d-two", "d-three"):
        asyncio.run(grow(url, name))
    vkey = audit.ok("keygen").strip().splitlines()[-1]
    old = audit.file("old", "checkpoint")
    size = int(old.read_text().splitlines()[1])

    asyncio.run(truncate(url, size - 4))

    cut = audit.run("verify", "--checkpoint", str(old), "--key", vkey)
    assert cut.returncode == 1, cut.stderr
    said = " ".join(cut.stderr.split())
    assert f"has {size - 4} events, fewer than the checkpoint's {size}" in said


async def truncate(url: str, keep: int) -> None:
    """An operator deletes the log's last events, consistently: the head and the tree too."""
    async with raw_transaction(url) as connection:
        head = (
            await connection.execute(
                text("SELECT hash FROM events WHERE position = :keep"), {"keep": keep}
            )
        ).scalar_one()
        for statement in (
            "DELETE FROM events WHERE position > :keep",
            "UPDATE log_head SET position = :keep, hash = :head",
            "DELETE FROM merkle_subtrees",
            "UPDATE projection_positions SET position = 0",
            "DELETE FROM decisions",
            "DELETE FROM decision_states",
            "DELETE FROM pending_actions",
            "DELETE FROM owed_actions",
        ):
            await connection.execute(text(statement), {"keep": keep, "head": head})


def test_a_chain_rewritten_consistently_under_an_untouched_tree_is_named_at_its_first_entry(
    auditor: tuple[Auditor, str],
) -> None:
    """A forger edits one body and rewrites every chain hash after it, so the chain verifies,
    and leaves the stored tree alone, so it still has the checkpoint's root: with the tiles
    saved with the checkpoint, verify names the first entry that differs."""
    from store.eventstore import open_store
    from tests.integration.workflows.test_checkpoints import edited_in_place

    audit, url = auditor
    for name in ("d-one", "d-two", "d-three", "d-four"):
        asyncio.run(grow(url, name))
    vkey = audit.ok("keygen").strip().splitlines()[-1]
    old = audit.file("old", "checkpoint")
    saved = audit.home / "tiles-then"
    audit.ok("tiles", "-o", str(saved))

    async def forge() -> None:
        store = await open_store(url)
        try:
            await edited_in_place(store, 9, rechain=True)
        finally:
            await store.close()

    asyncio.run(forge())
    bare = audit.run("verify", "--checkpoint", str(old), "--key", vkey)
    assert bare.returncode == 1 and "--tiles" in " ".join(bare.stderr.split())
    exact = audit.run("verify", "--checkpoint", str(old), "--key", vkey, "--tiles", str(saved))
    said = " ".join((exact.stdout + exact.stderr).split())
    assert exact.returncode == 1
    assert "it departs at position 9: the checkpoint's log has" in said
    assert "extends the checkpoint" not in said


def test_a_client_that_remembers_catches_a_split_view_on_its_own(
    auditor: tuple[Auditor, str],
) -> None:
    """`audit check --state DIR` keeps the largest checkpoint it verified, and holds every later
    one to it: a log that shows this client another tree of a size it saw is caught, with no
    one else to compare notes with."""
    from audit.checkpoint import Checkpoint, b64
    from audit.merkle import MemoryTree, inclusion_proof, leaf_hash
    from audit.note import Signer

    audit, url = auditor
    asyncio.run(grow(url, "d-one"))
    vkey = audit.ok("keygen").strip().splitlines()[-1]
    state = audit.home / "remembered"
    first = audit.file("first", "checkpoint")
    in1 = audit.file("in1", "prove", "--position", "1", "--checkpoint", str(first))
    said = audit.ok("check", str(in1), "--key", vkey, "--state", str(state))
    assert "remembered as the first checkpoint" in said
    assert state.stat().st_mode & 0o777 == 0o700

    asyncio.run(grow(url, "d-two"))
    second = audit.file("second", "checkpoint")
    in2 = audit.file("in2", "prove", "--position", "2", "--checkpoint", str(second))
    unproved = audit.run("check", str(in2), "--key", vkey, "--state", str(state))
    assert unproved.returncode == 2 and "--log" in unproved.stderr
    grown = audit.file("grown", "prove", "--since", str(first), "--checkpoint", str(second))
    said = " ".join(audit.ok("check", str(grown), "--key", vkey, "--state", str(state)).split())
    assert "extends the checkpoint of" in said and "remembered here" in said
    assert " ".join(audit.ok("check", str(in2), "--key", vkey, "--state", str(state)).split())

    # The log's key signs another tree of the same size for this client: a split view.
    size = int(second.read_text().splitlines()[1])
    forged = MemoryTree()
    for n in range(size):
        forged.append(leaf_hash(b"forged %d" % n))
    key = Signer.parse((audit.home / "keys" / "log.key").read_text())
    other = key.sign(Checkpoint("nrc.example/concord", size, asyncio.run(forged.root())).text())
    lie = audit.home / "lie"
    lie.write_text(
        json.dumps(
            {
                "kind": "inclusion",
                "checkpoint": other,
                "position": 1,
                "index": 0,
                "entry": base64.b64encode(b"forged 0").decode(),
                "proof": b64(asyncio.run(inclusion_proof(forged.subtree, 0, size))),
            }
        )
    )
    assert audit.run("check", str(lie), "--key", vkey).returncode == 0, "alone, it checks"
    caught = audit.run("check", str(lie), "--key", vkey, "--state", str(state))
    assert caught.returncode == 1 and "split view" in caught.stderr
