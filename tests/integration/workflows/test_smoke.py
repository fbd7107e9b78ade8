"""A first decision through the workflow: proposal, review, a round adopted by silence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.testing import WorkflowEnvironment

from domain.commands import command_of
from runtime.decisions import DecisionClient
from store.eventstore import EventStore
from tests.integration.workflows.conftest import env_now


async def test_a_round_is_adopted_by_silence(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> None:
    def command(kind: str, actor: str, **fields: Any) -> Any:
        return command_of(kind, "d-1", actor, **fields)

    receipt = await decisions.propose(
        command("submit_proposal", "POL", title="T", text="x", area="crisis_management")
    )
    assert receipt.stream_version == 1
    await decisions.execute(command("refer", "chair"))
    await decisions.execute(command("complete_review", "chair", outcome="forward"))
    now = await env_now(env)
    r = await decisions.execute(
        command("open_round", "chair", deadline=(now + timedelta(days=2)).isoformat())
    )
    assert r.event_types == ("ConsensusRoundOpened",)
    await env.sleep(timedelta(days=2, minutes=1))
    status = await decisions.status("d-1")
    assert status.state is not None and status.state.status.value == "adopted"
    stream = await store.stream("d-1")
    assert [e.type for e in stream][-2:] == ["ConsensusReached", "DecisionAdopted"]
