"""Fixtures: the real Temporal dev server on a free port, stores on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from store.migrate import upgrade
from tests.pg import throwaway_database
from tests.temporal import DEV_SERVER, binary
from workflows.decision import SEARCH_ATTRIBUTES

ROOT = Path(__file__).parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty event store on each backend."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'concord.db'}"
        await upgrade(url)
        yield url
        return
    async with throwaway_database("concord_e2e") as url:
        await upgrade(url)
        yield url


class WorkerProcess:
    """`python worker.py` as a separate process, the way production runs it."""

    def __init__(self, address: str, database_url: str, task_queue: str, log: Path) -> None:
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
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")],
                env=self.env,
                stdout=out,
                stderr=out,
                cwd=ROOT,
            )
        deadline = time.monotonic() + 30
        while b"worker running" not in self.log.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{self.log.read_text()}")
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
