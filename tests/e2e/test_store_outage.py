"""The event store out of reach of the worker: a command is not acknowledged until its events are
stored, the CLI and the API say so within their bound (exit 5, 503), and once the store is back
every command the decision queued is stored in the order given, each once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from sqlalchemy.engine import make_url
from temporalio.testing import WorkflowEnvironment

from api.main import api_app
from api.server import serving
from audit.verify import verify_log
from runtime.access import Role, Tokens
from runtime.decisions import DecisionClient
from store.eventstore import EventStore, open_store
from tests.e2e.conftest import CONCORD, WorkerProcess
from tests.pg import shown
from tests.ports import free_port
from tests.shutdown import stopped
from tests.stores import migrated_store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BOUND_S = 3
"""How long the CLI and the API wait for a receipt here (`CONCORD_COMMAND_TIMEOUT_SECONDS`)."""
STARTUP_S = 10
"""What a CLI process takes besides its wait, on a busy machine: importing, connecting."""
DEADLINE = "2099-01-01T00:00:00Z"
"""An instant, not a duration from now: the command given again is the same command."""


class Outage(Protocol):
    """A way to put the event store out of the worker's reach, and back."""

    worker_url: str
    """The store's URL as the worker reaches it."""

    async def begin(self) -> None: ...

    async def end(self) -> None: ...


class LockedDatabase:
    """Another connection holds SQLite's write lock: each append waits out the busy timeout, then
    SQLite answers "database is locked"; reads go on (WAL)."""

    def __init__(self, url: str) -> None:
        self.worker_url = url
        database = make_url(url).database
        assert database is not None
        self._path = database
        self._holder: sqlite3.Connection | None = None

    async def begin(self) -> None:
        holder = sqlite3.connect(self._path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        self._holder = holder

    async def end(self) -> None:
        if self._holder is not None:
            self._holder.execute("ROLLBACK")
            self._holder.close()
            self._holder = None


class CutLine:
    """The worker reaches PostgreSQL through a TCP relay: cut, it drops every connection and
    refuses new ones, as a network path that fails does."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self._target = (parsed.host or "127.0.0.1", parsed.port or 5432)
        self._port = free_port()
        self.worker_url = parsed.set(host="127.0.0.1", port=self._port).render_as_string(
            hide_password=False
        )
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self._port)

    async def begin(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in self._links:
            link.transport.abort()

    async def end(self) -> None:
        if self._server is None:
            await self.open()

    async def _relay(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        try:
            server, to_server = await asyncio.open_connection(*self._target)
        except OSError:
            to_client.transport.abort()
            return
        links = {to_client, to_server}
        self._links |= links
        try:
            await asyncio.gather(_pipe(client, to_server), _pipe(server, to_client))
        finally:
            self._links -= links


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await source.read(65_536):
            sink.write(chunk)
            await sink.drain()
    sink.transport.abort()


@pytest.fixture
async def outage(store_url: str) -> AsyncIterator[Outage]:
    if store_url.startswith("sqlite"):
        locked = LockedDatabase(store_url)
        yield locked
        await locked.end()
        return
    line = CutLine(store_url)
    await line.open()
    yield line
    await line.begin()  # for good


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str
    seconds: float


async def concord(env: dict[str, str], *args: str) -> Ran:
    """`concord` in a process of its own, the test's loop going on meanwhile."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        CONCORD,
        *args,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode(), time.monotonic() - started)


@dataclass
class Site:
    """The worker (through `outage`), the API and the CLI of one installation, on the shared
    dev server."""

    env: dict[str, str]
    store: EventStore
    http: httpx.AsyncClient
    headers: dict[str, str]

    async def concord(self, *args: str) -> Ran:
        return await concord(self.env, *args)

    async def post(self, path: str, body: dict[str, Any], key: str) -> httpx.Response:
        return await self.http.post(
            path, json=body, headers=self.headers | {"Idempotency-Key": key}
        )

    async def stored(self, decision_id: str, versions: int) -> list[tuple[int, str, str]]:
        """(version, type, event id) of the decision's events once it has `versions` of them."""
        deadline = time.monotonic() + 90
        while len(stream := await self.store.stream(decision_id)) < versions:
            assert time.monotonic() < deadline, f"only {len(stream)} events stored"
            await asyncio.sleep(0.2)
        return [(e.stream_version, e.type, e.event_id) for e in stream]


@pytest.fixture
async def site(
    dev_server: WorkflowEnvironment, store_url: str, outage: Outage, tmp_path: Path
) -> AsyncIterator[Site]:
    queue = f"concord-outage-{uuid.uuid4().hex[:8]}"
    address = dev_server.client.service_client.config.target_host
    worker = WorkerProcess(address, outage.worker_url, queue, tmp_path / "worker.log")
    port = free_port()
    env = {
        **os.environ,
        "CONCORD_DATA_DIR": str(tmp_path),
        "CONCORD_DATABASE_URL": store_url,
        "CONCORD_TEMPORAL_ADDRESS": address,
        "CONCORD_TASK_QUEUE": queue,
        "CONCORD_API_PORT": str(port),
        "CONCORD_OPERATOR": "secretariat",
        "CONCORD_LOG_FORMAT": "json",
        "CONCORD_COMMAND_TIMEOUT_SECONDS": str(BOUND_S),
    }
    api_log = tmp_path / "api.log"
    store = await open_store(store_url)
    api: subprocess.Popen[bytes] | None = None
    try:
        await asyncio.to_thread(worker.start)
        with api_log.open("ab") as out:
            api = subprocess.Popen([CONCORD, "api"], env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + 30
        while b'"api running"' not in api_log.read_bytes():
            assert api.poll() is None and time.monotonic() < deadline, api_log.read_text()
            await asyncio.sleep(0.1)
        token = (await Tokens(store).issue(Role.OPERATOR, "secretariat", "operator:test")).token
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            yield Site(env, store, http, {"Authorization": f"Bearer {token}"})
    finally:
        for process in (api, worker.process):
            if process is not None and process.poll() is None:
                process.terminate()
                await asyncio.to_thread(process.wait, 20)
        await stopped(f"the event store at {shown(store_url)}", store.close())


def _unacknowledged(ran: Ran, decision_id: str) -> str:
    """The one line a command not acknowledged in time leaves on stderr."""
    assert ran.code == 5, (ran.code, ran.out, ran.err)
    [line] = ran.err.strip().splitlines()
    assert line.startswith(
        f"concord: unavailable: decision {decision_id}: the command is not acknowledged after "
        f"{BOUND_S} s: it is not stored yet"
    ), line
    assert BOUND_S <= ran.seconds < BOUND_S + STARTUP_S, ran.seconds
    return line


def _receipt(out: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(out)
    return document


async def test_commands_sent_while_the_store_is_down_are_unacknowledged_then_stored_in_order(
    site: Site, outage: Outage
) -> None:
    decision = f"d-outage-{uuid.uuid4().hex[:8]}"
    proposed = await site.concord(
        "propose", "--id", decision, "--as", "POL", "--title", "T", "--area",
        "crisis_management", "--text", "Draft", "--json",
    )  # fmt: skip
    assert proposed.code == 0, proposed.err
    before = await site.store.head()

    await outage.begin()
    try:
        referring = await site.concord("refer", decision)
        reviewing = await site.post(f"/decisions/{decision}/review", {"outcome": "forward"}, "rv")
        opening = await site.concord("open-round", decision, "--deadline", DEADLINE, "--key", "op")
        reading = await site.http.get(f"/decisions/{decision}", headers=site.headers)
        during = await site.store.head()
    finally:
        await outage.end()
    queued = await site.stored(decision, 4)

    refer_line = _unacknowledged(referring, decision)
    made_up = re.search(r"give it again with --key (\S+) to get its receipt", refer_line)
    assert made_up is not None, refer_line
    assert "give it again with --key op to get" in _unacknowledged(opening, decision)
    assert reviewing.status_code == 503, reviewing.text
    assert reviewing.headers["Retry-After"] == "5"
    error = reviewing.json()["error"]
    assert error["code"] == "unavailable"
    assert "not acknowledged" in error["message"]
    assert "send it again with the same Idempotency-Key" in error["message"]
    assert reading.status_code == 200 and reading.json()["status"] == "proposed"
    assert during == before, "nothing was stored while the store was out of reach"
    assert [(version, kind) for version, kind, _ in queued] == [
        (1, "ProposalSubmitted"),
        (2, "ReferredToPreparatoryCommittee"),
        (3, "ReviewCompleted"),
        (4, "ConsensusRoundOpened"),
    ]

    # Given again with their keys: the receipts of the events stored, and nothing stored twice.
    referred = await site.concord("refer", decision, "--key", made_up.group(1), "--json")
    reviewed = await site.post(f"/decisions/{decision}/review", {"outcome": "forward"}, "rv")
    opened = await site.concord(
        "open-round", decision, "--deadline", DEADLINE, "--key", "op", "--json"
    )
    assert referred.code == 0 and opened.code == 0, (referred.err, opened.err)
    assert reviewed.status_code == 201, reviewed.text
    receipts = [_receipt(referred.out), reviewed.json(), _receipt(opened.out)]
    assert [(r["stream_version"], r["event_ids"]) for r in receipts] == [
        (version, [event_id]) for version, _, event_id in queued[1:]
    ]
    assert len(await site.store.stream(decision)) == 4
    assert (await verify_log(site.store)).ok


@pytest.mark.postgres
async def test_reads_while_the_store_cannot_be_reached_answer_503_and_exit_5_at_once(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with migrated_store("postgres", tmp_path, "concord_outage") as url:
        line = CutLine(url)  # here the API and the CLI are the ones it keeps from the store
        await line.open()
        store = await open_store(line.worker_url)
        env = {
            **os.environ,
            "CONCORD_DATABASE_URL": line.worker_url,
            "CONCORD_TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        }
        try:
            decisions = DecisionClient(dev_server.client, "concord-outage-reads")
            token = (await Tokens(store).issue(Role.AUDITOR, "ana", "operator:test")).token
            port = free_port()
            async with (
                serving(api_app(decisions, store), "127.0.0.1", port),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
            ):
                await line.begin()
                started = time.monotonic()
                read = await http.get(
                    "/decisions/d-any", headers={"Authorization": f"Bearer {token}"}
                )
                answered_in = time.monotonic() - started
                listing = await concord(env, "list")
        finally:
            await line.begin()
            await store.close()

    assert read.status_code == 503 and read.headers["Retry-After"] == "5", read.text
    assert read.json()["error"]["code"] == "unavailable"
    assert "the event store cannot be" in read.json()["error"]["message"]
    assert answered_in < BOUND_S
    assert listing.code == 5, listing.err
    [said] = listing.err.strip().splitlines()
    assert said.startswith("concord: unavailable: the event store cannot be"), said
    assert listing.seconds < STARTUP_S
