"""`concord audit monitor` against the real API on a real SQLite file: the monitor reads only
HTTP and trusts only the log's verifier key, while the tests grow, edit, cut short and rewrite
the database behind the API as a dishonest operator would."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from activities.webhooks import signature_holds
from api.main import api_app
from api.server import serving
from audit import checkpoint as cp
from audit.checkpoint import Checkpoint, InclusionProof, b64
from audit.merkle import MemoryTree, inclusion_proof, leaf_hash
from audit.monitor import state_file
from audit.note import Signer
from audit.tree import StoredTree, caught_up
from cli.app import invoke
from runtime.settings import Settings
from tests.e2e.conftest import Api
from tests.integration.store.raw_sql import raw_transaction
from tests.integration.store.test_read_models import record
from tests.integration.workflows.test_checkpoints import edited_in_place
from tests.interop.test_transparency import edit_in_place, keep_checkpoints, synthetic, truncate
from tests.ports import free_port
from tests.unit.domain.scenario import Scenario

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ORIGIN = "nrc.example/concord"
CONCORD = str(Path(sys.executable).parent / "concord")


@dataclass
class Monitor:
    """`concord audit monitor` on the API's URL, with the log's key and a state of its own."""

    api: Api
    home: Path
    capsys: pytest.CaptureFixture[str]

    @property
    def url(self) -> str:
        return str(self.api.http.base_url).rstrip("/")

    @property
    def state(self) -> Path:
        return self.home / "monitor"

    @property
    def token_file(self) -> Path:
        path = self.home / "auditor.token"
        path.write_text(self.api.keys["auditor"] + "\n")
        return path

    async def run(self, *extra: str, url: str | None = None, token: bool = True) -> tuple[int, str]:
        """The exit code, and what the command printed: stdout on success, stderr on failure
        (the API in this process logs its requests on stdout too)."""
        self.capsys.readouterr()
        args = ["audit", "monitor", url or self.url, "--key", self.api.log_key.encode()]
        args += ["--state", str(self.state), *extra]
        if token:
            args += ["--token-file", str(self.token_file)]
        code = await asyncio.to_thread(invoke, args)
        said = self.capsys.readouterr()
        return code, said.out if code == 0 else said.err

    async def holds(self, *extra: str, token: bool = True) -> str:
        code, said = await self.run(*extra, token=token)
        assert code == 0, said
        return " ".join(said.split())

    async def alarms(self, *extra: str, url: str | None = None, token: bool = True) -> str:
        """The one line of an alarm (exit 1), once the state is shown to be left as it was."""
        kept = self.kept_bytes()
        code, said = await self.run(*extra, url=url, token=token)
        assert code == 1, said
        assert said.startswith("concord: audit failed:") and "\n" not in said.strip()
        assert self.kept_bytes() == kept, "a failed pass leaves the state as it was"
        assert sorted(p.name for p in self.state.iterdir()) == [self.file.name]
        return " ".join(said.split())

    @property
    def file(self) -> Path:
        return state_file(self.state, ORIGIN)

    def kept_bytes(self) -> bytes:
        return self.file.read_bytes()

    def kept(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.file.read_text())
        return document

    def kept_size(self) -> int:
        return int(self.kept()["checkpoint"].splitlines()[1])


@pytest.fixture
def monitor(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Monitor:
    monkeypatch.delenv("CONCORD_MONITOR_TOKEN", raising=False)
    return Monitor(api, tmp_path, capsys)


async def grown(api: Api, *decisions: str) -> int:
    """The log grown by each decision brought to an open round, its tree caught up: its size."""
    for decision_id in decisions:
        await record(api.store, Scenario(decision_id).round_open())
    return await tree_size(api)


async def tree_size(api: Api) -> int:
    await caught_up(api.store)
    size, _ = await api.store.head()
    return size


async def test_an_intact_growing_log_verifies_pass_after_pass_and_the_state_advances(
    monitor: Monitor,
) -> None:
    first = await grown(monitor.api, "d-one")

    said = await monitor.holds()
    assert f"its tree of {first} verified; {first} entries checked" in said
    assert oct(monitor.state.stat().st_mode & 0o777) == "0o700"
    assert monitor.kept_size() == first and monitor.kept()["entries"]["size"] == first
    assert monitor.kept()["entries"]["streams"]["d-one"]["version"] == first

    await synthetic(monitor.api.store.url, "d-long", 300)  # a full tile, a level-1 tile
    second = await tree_size(monitor.api)
    said = await monitor.holds()
    assert f"its tree of {second} extends the tree of {first}" in said
    assert f"; {second - first} entries checked" in said
    assert monitor.kept_size() == second
    assert monitor.kept()["entries"]["streams"]["d-long"]["version"] == 300

    printed = (await monitor.run("--json"))[1]
    document, _ = json.JSONDecoder().raw_decode(printed, printed.index("{\n"))
    assert document["ok"] and document["size"] == document["previous_size"] == second
    assert document["entries_checked"] == 0 and document["entries_unchecked"] == 0
    assert document["rehashed"] == second, "every entry verified is re-hashed from its tile"


async def test_a_body_edited_in_place_below_the_verified_size_is_caught_from_http_alone(
    monitor: Monitor, tmp_path: Path
) -> None:
    url = monitor.api.store.url
    await synthetic(url, "d-long", 300)
    size = await tree_size(monitor.api)
    # The signer builds on the checkpoint it kept, as the schedule makes it: an edit below it
    # does not stop it signing, and its root stays the one verified.
    await keep_checkpoints(url, tmp_path / "log.key", (size,))
    await monitor.holds()
    before = (await monitor.api.http.get("/log/checkpoint")).text

    await edit_in_place(url, 3, '"actor":"RUS"', '"actor":"USA"')
    assert (await monitor.api.http.get("/log/checkpoint")).text == before, "still signed"
    said = await monitor.alarms()
    assert "the entries at positions 1..256 (tile/0/000) hash otherwise" in said

    await edit_in_place(url, 3, '"actor":"USA"', '"actor":"RUS"')
    await monitor.holds()
    await edit_in_place(url, 260, '"actor":"RUS"', '"actor":"USA"')
    said = await monitor.alarms(token=False)
    assert f"positions 257..288 (tile/0/001.p/{size - 256}) hash otherwise" in said


async def test_a_consistent_truncation_is_a_rollback_naming_both_sizes(monitor: Monitor) -> None:
    size = await grown(monitor.api, "d-one", "d-two", "d-three")
    await monitor.holds()

    await truncate(monitor.api.store.url, size - 4)
    assert await tree_size(monitor.api) == size - 4

    said = await monitor.alarms()
    assert f"rollback: the log's checkpoint has {size - 4} entries, fewer than the {size}" in said


async def test_a_checkpoint_signed_with_another_key_is_refused(
    monitor: Monitor, tmp_path: Path
) -> None:
    await grown(monitor.api, "d-one")
    await monitor.holds()
    await grown(monitor.api, "d-two")

    forger = Signer.generate(ORIGIN)  # the log's name, not its key
    (tmp_path / "forged").mkdir()
    (tmp_path / "forged" / "log.key").write_text(forger.encode())
    settings = Settings(
        data_dir=tmp_path / "forged",
        database_url=monitor.api.store.url,
        log_origin=ORIGIN,
        log_key_file=tmp_path / "forged" / "log.key",
    )
    port = free_port()
    app = api_app(monitor.api.decisions, monitor.api.store, None, settings)
    async with serving(app, "127.0.0.1", port):
        said = await monitor.alarms(url=f"http://127.0.0.1:{port}")
    assert f"the log's checkpoint is refused: not signed by {ORIGIN} with the key given" in said


async def test_without_a_token_the_growth_is_checked_with_tiles_and_said_unchecked(
    monitor: Monitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await grown(monitor.api, "d-one")
    said = await monitor.holds(token=False)
    assert f"its tree of {first} verified; 0 entries checked" in said
    assert f"entries were not checked (no token): positions 1..{first}" in said

    await synthetic(monitor.api.store.url, "d-long", 300)
    second = await tree_size(monitor.api)
    said = await monitor.holds(token=False)
    assert f"extends the tree of {first}; 0 entries checked" in said
    assert f"positions 1..{second} are verified by hash tiles only" in said
    assert monitor.kept_size() == second and monitor.kept()["entries"]["size"] == 0

    monkeypatch.setenv("CONCORD_MONITOR_TOKEN", monitor.api.keys["auditor"])
    said = await monitor.holds(token=False)
    assert f"{second} entries checked" in said and "not checked" not in said
    assert monitor.kept()["entries"]["size"] == second


async def test_a_checkpoint_the_log_withholds_with_500_is_an_alarm(monitor: Monitor) -> None:
    await grown(monitor.api, "d-one")
    await monitor.holds()

    await edit_in_place(monitor.api.store.url, 2, '"actor":"', '"actor":"X')
    assert (await monitor.api.http.get("/log/checkpoint")).status_code == 500

    said = await monitor.alarms()
    assert f"the log withholds its checkpoint: {monitor.url}/log/checkpoint answered 500" in said


async def test_a_log_rewritten_consistently_is_a_fork_at_its_size_and_beyond(
    monitor: Monitor,
) -> None:
    size = await grown(monitor.api, "d-one", "d-two")
    await monitor.holds()

    await rewritten(monitor.api, 2)
    assert await tree_size(monitor.api) == size
    said = await monitor.alarms()
    assert f"fork: the log's checkpoint of {size} entries has another root" in said

    await grown(monitor.api, "d-three")
    said = await monitor.alarms(token=False)
    assert f"the served tiles no longer make the tree of {size} verified before" in said
    assert f"positions 1..{size} (tile/0/000.p/{size + 4}) hash otherwise" in said


async def test_an_entry_rewritten_past_the_verified_size_is_caught_by_its_decisions_next_link(
    monitor: Monitor,
) -> None:
    """The log rewritten from a new event on, consistently (its chain and tree too), signs a
    tree that extends the one verified: the hash tiles cannot tell, the entries can."""
    size = await grown(monitor.api, "d-one")
    await monitor.holds()
    await grown(monitor.api, "d-two")
    await rewritten(monitor.api, size + 1)

    said = await monitor.holds(token=False)
    assert f"positions {size + 1}..{size + 4} are verified by hash tiles only" in said
    said = await monitor.alarms()
    assert f"entry at position {size + 1} does not hash: decision d-two's next event" in said


async def rewritten(api: Api, position: int) -> None:
    """An operator edits the event at `position` and makes the rest agree: every chain hash
    from there, and the stored tree, rebuilt."""
    await edited_in_place(api.store, position, rechain=True)
    async with raw_transaction(api.store.url) as connection:
        await connection.execute(text("DELETE FROM merkle_subtrees"))
        await connection.execute(
            text("UPDATE projection_positions SET position = 0 WHERE name = 'merkle_tree'")
        )
    await caught_up(api.store)


async def test_bad_input_is_one_line_naming_the_field_and_nothing_is_kept(
    monitor: Monitor,
) -> None:
    for url, code, field in [
        ("ftp://127.0.0.1/", 2, "invalid input: URL:"),
        ("not a url", 2, "invalid input: URL:"),
        (f"http://127.0.0.1:{free_port()}", 5, "unavailable: the log at http://127.0.0.1:"),
    ]:
        exit_code, said = await monitor.run(url=url)
        assert (exit_code, said.split(" ", 1)[1].startswith(field)) == (code, True), said
        assert len(said.strip().splitlines()) == 1, said
    monitor.capsys.readouterr()
    state = str(monitor.home / "elsewhere")
    assert invoke(["audit", "monitor", monitor.url, "--key", "nonsense", "--state", state]) == 2
    assert monitor.capsys.readouterr().err.startswith("concord: invalid input: key:")
    assert not state_file(monitor.state, ORIGIN).exists()


async def test_follow_mode_counts_an_alarm_keeps_going_and_does_not_advance_past_it(
    monitor: Monitor, tmp_path: Path
) -> None:
    first = await grown(monitor.api, "d-one")
    port = free_port()
    log = tmp_path / "monitor.log"
    args = ["audit", "monitor", monitor.url, "--key", monitor.api.log_key.encode()]
    args += ["--state", str(monitor.state), "--token-file", str(monitor.token_file)]
    args += ["--follow", "--interval", "0.2", "--metrics-port", str(port)]
    received: list[tuple[bytes, str]] = []
    hook = receiver(received)
    (tmp_path / "hook.secret").write_text("s3cret\n")
    args += ["--webhook", f"http://127.0.0.1:{hook.server_port}/alarms"]
    args += ["--webhook-secret-file", str(tmp_path / "hook.secret")]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [CONCORD, *args],
            env={**os.environ, "CONCORD_LOG_FORMAT": "json"},
            stdout=out,
            stderr=out,
            stdin=subprocess.DEVNULL,
        )
    try:
        await logged(log, "log verified", first)
        second = await grown(monitor.api, "d-two")
        await logged(log, "log verified", second)

        await edit_in_place(monitor.api.store.url, 2, '"actor":"', '"actor":"X')
        alarm = await logged(log, "monitor alarm")
        assert alarm["level"] == "error" and "withholds its checkpoint" in alarm["alarm"]
        await logged(log, "monitor alarm", count=2)  # it keeps going, and alarms again
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        [counted] = [
            float(line.split()[1])
            for line in metrics.splitlines()
            if line.startswith("concord_monitor_alarms_total ")
        ]
        assert counted >= 2
        assert monitor.kept_size() == second, "nothing past the alarm is kept"
        assert process.poll() is None
        # Each alarm reached the webhook, signed with the secret as Concord's webhooks are.
        body, header = received[0]
        sent = json.loads(body)
        assert sent["event"] == "monitor.alarm" and sent["origin"] == ORIGIN
        assert "withholds its checkpoint" in sent["alarm"]
        assert signature_holds("s3cret", header, body, int(time.time()))
        assert not signature_holds("another", header, body, int(time.time()))
    finally:
        process.send_signal(signal.SIGTERM)
        hook.shutdown()
        hook.server_close()
        assert await asyncio.to_thread(process.wait, 20) == 0, log.read_text()


def receiver(received: list[tuple[bytes, str]]) -> ThreadingHTTPServer:
    """A webhook receiver on a free port of its own, keeping each POST's body and signature."""

    class Receive(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers.get("Concord-Signature", "")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def logged(log: Path, event: str, size: int | None = None, count: int = 1) -> dict[str, Any]:
    """The `count`th record of `event` (of a tree of `size`, if given) in the monitor's log,
    once it is there (at most 20 s)."""
    deadline = time.monotonic() + 20
    while True:
        records: list[dict[str, Any]] = [
            json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")
        ]
        found = [r for r in records if r.get("event") == event and size in (None, r.get("size"))]
        if len(found) >= count:
            return found[count - 1]
        assert time.monotonic() < deadline, f"no {event!r} in:\n{log.read_text()}"
        await asyncio.sleep(0.1)


async def test_a_client_that_remembers_proves_growth_from_the_served_tiles(
    monitor: Monitor, tmp_path: Path
) -> None:
    """`audit check --state DIR --log URL`: an inclusion proof against a larger checkpoint than
    the one remembered holds once the log's own hash tiles prove the larger tree extends it; a
    tree the tiles do not extend, signed with the log's key for this client alone, is a split
    view."""
    api = monitor.api
    key = Signer.parse((tmp_path / "log.key").read_text())
    tree = StoredTree(api.store)

    async def checked(proof: InclusionProof) -> tuple[int, str]:
        path = tmp_path / "proof.json"
        path.write_text(proof.model_dump_json())
        monitor.capsys.readouterr()
        args = ["audit", "check", str(path), "--key", key.verifier.encode()]
        args += ["--state", str(tmp_path / "remembered"), "--log", monitor.url]
        code = await asyncio.to_thread(invoke, args)
        said = monitor.capsys.readouterr()
        return code, " ".join((said.out if code == 0 else said.err).split())

    async def served(position: int) -> InclusionProof:
        signed = (await api.http.get("/log/checkpoint")).text
        checkpoint = cp.open_checkpoint(signed, key.verifier)
        return await cp.prove_inclusion(api.store, tree, signed, checkpoint, position)

    size = await grown(api, "d-one")
    code, said = await checked(await served(1))
    assert code == 0 and "remembered as the first checkpoint" in said, said

    larger = await grown(api, "d-two", "d-three")
    code, said = await checked(await served(2))
    assert code == 0 and f"extends the checkpoint of {size} remembered here" in said, said
    assert f"(now {larger})" in said

    forged = MemoryTree()
    for n in range(larger + 2):
        forged.append(leaf_hash(b"forged %d" % n))
    lie = key.sign(Checkpoint(ORIGIN, larger + 2, await forged.root()).text())
    await grown(api, "d-four")  # the log serves tiles of that size
    path = await inclusion_proof(forged.subtree, 0, larger + 2)
    entry = base64.b64encode(b"forged 0").decode()
    proof = InclusionProof(checkpoint=lie, position=1, index=0, entry=entry, proof=b64(path))
    code, said = await checked(proof)
    assert code == 1 and "split view" in said, said
