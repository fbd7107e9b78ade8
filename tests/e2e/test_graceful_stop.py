"""A graceful stop (SIGTERM) of every long-running entry point ends with exit 0, every time."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.e2e.conftest import CONCORD, Stack, WorkerProcess
from tests.ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORKER_STOPS = 12
DEV_STOPS = 4
PROJECTOR_STOPS = 8


def test_a_worker_stopped_with_sigterm_drains_and_exits_0_every_time(
    worker_process: WorkerProcess,
) -> None:
    codes = []
    for _ in range(WORKER_STOPS):
        worker_process.start()
        codes.append(worker_process.stop())

    assert codes == [0] * WORKER_STOPS, worker_process.log.read_text()[-4000:]
    assert worker_process.log.read_text().count('"worker stopped"') == WORKER_STOPS


def test_concord_dev_stopped_with_sigterm_exits_0_every_time(tmp_path: Path) -> None:
    stack = Stack(tmp_path / "concord-dev")
    codes = []
    for _ in range(DEV_STOPS):
        stack.start()
        codes.append(stack.stop())

    assert codes == [0] * DEV_STOPS, stack.log.read_text()[-4000:]
    assert stack.log.read_text().count('"stack stopped"') == DEV_STOPS
    assert stack.leftovers() == []


def test_the_projector_stopped_with_sigterm_exits_0_every_time(
    store_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "CONCORD_DATABASE_URL": store_url, "CONCORD_LOG_FORMAT": "json"}
    log = tmp_path / "projector.log"
    codes = []
    for number in range(1, PROJECTOR_STOPS + 1):
        with log.open("ab") as out:
            process = subprocess.Popen([CONCORD, "project"], env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + 30
        while log.read_text().count('"projector running"') < number:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        codes.append(process.wait(30))

    assert codes == [0] * PROJECTOR_STOPS, log.read_text()[-4000:]
    assert log.read_text().count('"projector stopping"') == PROJECTOR_STOPS


def test_the_api_alone_serves_and_stopped_with_sigterm_exits_0(
    dev_server: WorkflowEnvironment, store_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "CONCORD_DATABASE_URL": store_url,
        "CONCORD_TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "CONCORD_API_PORT": str(port),
        "CONCORD_LOG_FORMAT": "json",
    }
    log = tmp_path / "api.log"
    for number in range(1, 4):
        with log.open("ab") as out:
            process = subprocess.Popen([CONCORD, "api"], env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + 30
        while log.read_text().count('"api running"') < number:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        health = httpx.get(f"http://127.0.0.1:{port}/health")
        assert health.json() == {"status": "ok"}
        unauthenticated = httpx.get(f"http://127.0.0.1:{port}/decisions")
        assert unauthenticated.status_code == 401
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, log.read_text()[-4000:]
    assert log.read_text().count('"api stopped"') == 3
