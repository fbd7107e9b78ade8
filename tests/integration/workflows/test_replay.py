"""The committed histories still replay against the current workflow code."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from runtime.bootstrap import workflow_runner
from workflows.converter import DATA_CONVERTER
from workflows.decision import DecisionWorkflow
from workflows.supersession import SupersessionWorkflow

HISTORIES = sorted((Path(__file__).parents[2] / "histories").glob("*.json"))


def test_there_are_committed_histories_to_replay() -> None:
    assert len(HISTORIES) >= 3


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_a_committed_history_replays_deterministically(path: Path) -> None:
    history = WorkflowHistory.from_json(f"decision-{path.stem}", path.read_text())
    replayer = Replayer(
        workflows=[DecisionWorkflow, SupersessionWorkflow],
        data_converter=DATA_CONVERTER,
        workflow_runner=workflow_runner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
