"""Fixtures: the real Temporal dev server on a free port, stores on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.main import api_app
from api.server import serving
from audit.note import Signer, Verifier
from domain.nrc import NRC_ROSTERS
from runtime.access import Role, Tokens
from runtime.bootstrap import build_worker, following, projector
from runtime.decisions import DecisionClient
from runtime.settings import Settings
from store.eventstore import EventStore, open_store
from tests.councils import testing_council_file, testing_rosters
from tests.ports import free_port
from tests.shutdown import bounded, stopped
from tests.stores import migrated_sqlite, migrated_store
from tests.temporal import DEV_SERVER, binary
from workflows.decision import SEARCH_ATTRIBUTES

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="session")
async def dev_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server with Concord's search attributes, on a temporary SQLite file."""
    db = tmp_path_factory.mktemp("temporal") / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary(DEV_SERVER),
        port=free_port(),
        dev_server_database_filename=str(db),
        search_attributes=SEARCH_ATTRIBUTES,
        data_converter=pydantic_data_converter,
        ui=False,
    )
    address = env.client.service_client.config.target_host
    try:
        yield env
    finally:
        await stopped(f"the Temporal dev server at {address}", env.shutdown())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty event store on each backend."""
    async with migrated_store(request.param, tmp_path, "concord_e2e") as url:
        yield url


class WorkerProcess:
    """`python worker.py` (or another of Concord's programs) as a separate process, the way
    production runs it: started once its log says `ready`."""

    def __init__(
        self,
        address: str,
        database_url: str,
        task_queue: str,
        log: Path,
        program: tuple[str, ...] = (str(ROOT / "worker.py"),),
        ready: str = "worker running",
    ) -> None:
        self.program = program
        self.ready = ready.encode()
        self.env = {
            **os.environ,
            "CONCORD_TEMPORAL_ADDRESS": address,
            "CONCORD_DATABASE_URL": database_url,
            "CONCORD_TASK_QUEUE": task_queue,
            "CONCORD_LOG_FORMAT": "json",
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        running_before = self.log.read_bytes().count(self.ready) if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, *self.program],
                env=self.env,
                stdout=out,
                stderr=out,
                cwd=ROOT,
            )
        deadline = time.monotonic() + 30
        while self.log.read_bytes().count(self.ready) <= running_before:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.program} did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(20)
        return self.process.returncode


@pytest.fixture
def worker_process(
    dev_server: WorkflowEnvironment, store_url: str, tmp_path: Path
) -> Iterator[WorkerProcess]:
    address = dev_server.client.service_client.config.target_host
    worker = WorkerProcess(
        address, store_url, f"concord-e2e-{tmp_path.name}", tmp_path / "worker.log"
    )
    yield worker
    if worker.process is not None and worker.process.poll() is None:
        worker.process.kill()
        worker.process.wait(10)


CONCORD = str(Path(sys.executable).parent / "concord")
READY = b'"event": "stack ready"'
"""`concord dev`'s record that the stack is up (its log is JSON lines when not on a terminal)."""


class Stack:
    """`concord dev` as a child process, and the environment its CLI calls share."""

    def __init__(self, data_dir: Path, testing_council: bool = True) -> None:
        port = free_port()  # its Web UI takes port + 1000, free too
        self.data_dir = data_dir
        self.env = {
            **os.environ,
            "CONCORD_DATA_DIR": str(data_dir),
            "CONCORD_TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
            "CONCORD_OPERATOR": "secretariat",
            "CONCORD_LOG_FORMAT": "json",
            "CONCORD_TASK_QUEUE": "concord-cli-test",
            "CONCORD_API_PORT": str(free_port()),
        }
        self.env.pop("CONCORD_DATABASE_URL", None)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "dev.log"
        self.testing_council = testing_council
        """Whether the stack runs the test council (the NRC without a minimum silence period,
        imported once it is up), so that rounds of seconds close while a test waits."""

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ready_before = self.log.read_bytes().count(READY) if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [CONCORD, "dev"], env=self.env, stdout=out, stderr=out, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 90
        while self.log.read_bytes().count(READY) <= ready_before:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"concord dev did not start:\n{self.log.read_text()}")
            time.sleep(0.2)
        if self.testing_council:
            imported = self.concord("council", "import", str(testing_council_file(self.data_dir)))
            assert imported.returncode == 0, imported.stderr

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    def concord(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CONCORD, *args],
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    def ok(self, *args: str) -> dict[str, Any]:
        result = self.concord(*args, "--json")
        assert result.returncode == 0, result.stderr
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    def fails(self, code: int, *args: str) -> str:
        result = self.concord(*args)
        assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        return lines[0]

    def proposed(self, decision_id: str, text: str = "x") -> dict[str, Any]:
        """A decision proposed by the United States on crisis management; its receipt."""
        return self.ok(
            "propose",
            "--id",
            decision_id,
            "--as",
            "USA",
            "--title",
            "T",
            "--area",
            "crisis_management",
            "--text",
            text,
        )

    def status_when(
        self, decision_id: str, holds: Callable[[dict[str, Any]], bool], timeout: float = 60
    ) -> dict[str, Any]:
        """The decision's status once `holds` is true of it (asked every 0.2 s, at most
        `timeout` seconds): a deadline's effect is awaited, never slept through."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.ok("status", decision_id)
            if holds(status):
                return status
            assert time.monotonic() < deadline, f"{decision_id} never got there: {status}"
            time.sleep(0.2)

    def tampered_copy(
        self, into: Path, decision_id: str, event_type: str, tamper: str
    ) -> tuple[dict[str, str], int]:
        """A copy of the stack's event store with one event of `decision_id` changed by the SQL
        `tamper` (its `?` is the event's position); the environment that points the CLI at the
        copy, and the position. The stack's own log stays intact for the other tests."""
        copy = into / "tampered.db"
        with (
            sqlite3.connect(self.data_dir / "concord.db") as source,
            sqlite3.connect(copy) as target,
        ):
            source.backup(target)
        with sqlite3.connect(copy) as db:
            [(position,)] = db.execute(
                "SELECT position FROM events WHERE decision_id = ? AND type = ?",
                (decision_id, event_type),
            ).fetchall()
            db.execute(tamper, (position,))
        return {**self.env, "CONCORD_DATABASE_URL": f"sqlite+aiosqlite:///{copy}"}, position

    def leftovers(self) -> list[str]:
        found = subprocess.run(["pgrep", "-af", str(self.data_dir)], capture_output=True, text=True)
        return [line for line in found.stdout.splitlines() if "pgrep" not in line]


MEMBERS = NRC_ROSTERS.latest.member_codes


@dataclass
class Api:
    http: httpx.AsyncClient
    store: EventStore
    tokens: Tokens
    keys: dict[str, str]
    """Each principal's token: members by code, `operator`, `auditor`."""
    log_key: Verifier
    decisions: DecisionClient

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    async def post(
        self, who: str, path: str, body: dict[str, Any], key: str | None = None
    ) -> httpx.Response:
        headers = self.auth(who) | ({"Idempotency-Key": key} if key else {})
        return await self.http.post(path, json=body, headers=headers)

    async def ok(self, who: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.post(who, path, body)
        assert response.status_code == 201, response.text
        document: dict[str, Any] = response.json()
        return document

    async def get(self, who: str, path: str, **params: Any) -> dict[str, Any]:
        response = await self.http.get(path, headers=self.auth(who), params=params)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        return document

    async def eventually(
        self, who: str, path: str, holds: Callable[[dict[str, Any]], bool], **params: Any
    ) -> dict[str, Any]:
        """The document once `holds` is true of it: the read models follow the log shortly."""
        for _ in range(100):
            document = await self.get(who, path, **params)
            if holds(document):
                return document
            await asyncio.sleep(0.1)
        raise AssertionError(f"{path} never got there: {document}")

    async def log_size(self) -> int:
        return (await self.store.head())[0]


@pytest.fixture
async def api(dev_server: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Api]:
    url = await migrated_sqlite(tmp_path / "concord.db")
    store = await open_store(url)
    task_queue = f"concord-api-{uuid.uuid4().hex[:8]}"
    try:
        async with (
            bounded(
                f"the worker on task queue {task_queue}",
                build_worker(dev_server.client, store, task_queue),
            ),
            bounded("the projector", following(projector(store))),
        ):
            decisions = DecisionClient(dev_server.client, task_queue, rosters=testing_rosters)
            port = free_port()
            key = Signer.generate("nrc.example/concord")
            (tmp_path / "log.key").write_text(key.encode())
            settings = Settings(
                data_dir=tmp_path,
                database_url=url,
                log_origin="nrc.example/concord",
                log_key_file=tmp_path / "log.key",
            )
            async with (
                bounded(
                    f"the API on 127.0.0.1:{port}",
                    serving(api_app(decisions, store, None, settings), "127.0.0.1", port),
                ),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
            ):
                tokens = Tokens(store)
                keys = {
                    code: (await tokens.issue(Role.MEMBER, code, "operator:test")).token
                    for code in MEMBERS
                }
                keys["operator"] = (
                    await tokens.issue(Role.OPERATOR, "secretariat", "operator:test")
                ).token
                keys["auditor"] = (await tokens.issue(Role.AUDITOR, "ana", "operator:test")).token
                yield Api(http, store, tokens, keys, key.verifier, decisions)
    finally:
        await stopped(f"the event store at {url}", store.close())


async def proposed(api: Api, decision_id: str) -> dict[str, Any]:
    return await api.ok(
        "POL",
        "/decisions",
        {
            "decision_id": decision_id,
            "title": "Action Plan on Terrorism",
            "text": "The NRC rejects terrorism in all its manifestations.",
            "area": "struggle_against_terrorism",
        },
    )


async def round_open(api: Api, decision_id: str) -> tuple[int, str]:
    await proposed(api, decision_id)
    await api.ok("operator", f"/decisions/{decision_id}/referral", {})
    await api.ok("operator", f"/decisions/{decision_id}/review", {"outcome": "forward"})
    deadline = "2099-01-01T00:00:00Z"
    await api.ok("operator", f"/decisions/{decision_id}/rounds", {"deadline": deadline})
    state = await api.get("auditor", f"/decisions/{decision_id}")
    [opened] = state["rounds"]
    # The portal's lists come from the read models, which follow the log shortly after.
    await api.eventually(
        "auditor",
        "/decisions",
        lambda page: any(
            row["decision_id"] == decision_id and row["open_round"] == opened["number"]
            for row in page["decisions"]
        ),
    )
    return opened["number"], opened["text_hash"]


@contextmanager
def running_stack(data_dir: Path, testing_council: bool = True) -> Iterator[Stack]:
    """`concord dev` on `data_dir` for a module's tests; stopped cleanly, leaving nothing."""
    running = Stack(data_dir, testing_council)
    running.start()
    yield running
    if running.process is not None and running.process.poll() is None:
        assert running.stop() == 0
    assert running.leftovers() == []
