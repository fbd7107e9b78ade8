"""A graceful stop (SIGTERM) of every long-running entry point ends with exit 0, every time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, WorkerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORKER_STOPS = 12
DEV_STOPS = 4


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
    assert stack.log.read_text().count("Stopped.") == DEV_STOPS
    assert stack.leftovers() == []
