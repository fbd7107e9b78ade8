"""Decisions keep every accepted command while workers are killed and Temporal and PostgreSQL
restart: nothing lost or doubled, every decision closes, a worker loss costs seconds."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from tests.faults.chaos import one_run, small_plan

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.e2e]

WORKER_LOSS_BOUND_S = 10.0


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_decisions_under_worker_kills_and_server_restarts_lose_and_double_nothing(
    backend: str,
) -> None:
    report = await one_run(backend, small_plan(backend == "postgres"), lanes=3, workers=2)
    print(json.dumps(asdict(report)))

    assert report.problems == []
    assert report.decisions >= 3 and report.commands >= 3 * 35
    assert report.faults["kill_worker"] == 2 and report.faults["restart_temporal"] == 1
    assert (report.lost, report.duplicated, report.stuck, report.unarchived) == (0, 0, 0, 0)
    assert report.unreceipted == 0
    assert report.chain_verified
    assert 0 < report.worst_latency_after_worker_loss_s < WORKER_LOSS_BOUND_S
