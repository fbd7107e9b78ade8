"""A worker and the projector, run as production runs them, serve Prometheus metrics: the
worker its appends and the Temporal SDK's own, the projector how far it lags the log."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.commands import SubmitProposal, command_of
from runtime.decisions import DecisionClient
from tests.councils import testing_rosters
from tests.e2e.conftest import CONCORD, WorkerProcess
from tests.ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def metrics(port: int, holding: str) -> str:
    """The metrics page on `port` once it holds `holding` (they are exported every second)."""
    text = ""
    for _ in range(100):
        try:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        except httpx.TransportError:
            text = ""
        if holding in text:
            return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"{holding} never served:\n{text[-2000:]}")


async def test_a_worker_serves_its_appends_and_the_sdks_metrics(
    dev_server: WorkflowEnvironment, store_url: str, tmp_path: Path
) -> None:
    port = free_port()
    decision = f"d-metrics-{uuid.uuid4().hex[:8]}"
    address = dev_server.client.service_client.config.target_host
    worker = WorkerProcess(address, store_url, f"metrics-{tmp_path.name}", tmp_path / "w.log")
    worker.env["CONCORD_METRICS_PORT"] = str(port)
    worker.start()
    try:
        proposal = command_of(
            "submit_proposal", decision, "POL", title="T", text="x", area="crisis_management"
        )
        assert isinstance(proposal, SubmitProposal)
        client = DecisionClient(
            dev_server.client, f"metrics-{tmp_path.name}", rosters=testing_rosters
        )
        await client.propose(proposal)
        await client.execute(command_of("refer", decision, "chair"))

        text = await metrics(port, "concord_appends")
    finally:
        worker.stop()

    lines = text.splitlines()
    appends = [line for line in lines if line.startswith("concord_appends")]
    assert any('outcome="stored"' in line and line.endswith(" 2") for line in appends), appends
    assert any(line.startswith("concord_append_batch_events_bucket") for line in lines)
    # In seconds, with boundaries from a millisecond up: a few appends of milliseconds each
    # fall below the top boundaries, and a boundary above them holds every one.
    seconds = {
        _bucket_bound(line): int(float(line.rsplit(" ", 1)[1]))
        for line in lines
        if line.startswith("concord_append_seconds_bucket")
    }
    assert {0.001, 0.01, 0.1, 1.0, 10.0} <= set(seconds), sorted(seconds)
    assert seconds[10.0] == seconds[float("inf")] >= 2, seconds
    assert any(line.startswith("temporal_") for line in lines), "the SDK runtime's own"


async def test_the_projector_serves_how_far_each_projection_lags_the_log(
    store_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = os.environ | {
        "CONCORD_DATABASE_URL": store_url,
        "CONCORD_LOG_FORMAT": "json",
        "CONCORD_METRICS_PORT": str(port),
    }
    log = tmp_path / "projector.log"
    with log.open("ab") as out:
        process = subprocess.Popen([CONCORD, "project"], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while "projector running" not in log.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.05)
        text = await metrics(port, 'concord_projector_lag_events{projection="decisions"}')
    finally:
        process.terminate()
        assert process.wait(20) == 0

    assert 'concord_projector_lag_events{projection="decisions"} 0.0' in text.splitlines()


def _bucket_bound(line: str) -> float:
    """The upper boundary (`le`) of a Prometheus histogram bucket's line."""
    return float(line.split('le="', 1)[1].split('"', 1)[0])
