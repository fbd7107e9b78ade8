"""Supersession: a later, adopted decision supersedes an earlier one, on both streams or neither,
the earlier one in implementation or completed (its workflow closed)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from audit.replay import replay_decision
from domain.commands import SupersedeDecision, command_of
from domain.errors import InvalidInput, NotFound, Refusal, Rule
from runtime.decisions import DecisionClient
from store.eventstore import EventStore
from tests.integration.workflows.council import Council
from tests.shutdown import stopped


@pytest.fixture
async def pair(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> AsyncIterator[tuple[Council, Council]]:
    """The 2004 Action Plan and the later decision that supersedes it."""
    earlier = Council(env, decisions, store, decision_id=f"d-2004-{uuid.uuid4().hex[:8]}")
    later = Council(env, decisions, store, decision_id=f"d-2011-{uuid.uuid4().hex[:8]}")
    yield earlier, later
    for council in (earlier, later):
        await stopped(f"decision {council.decision_id}'s workflow", council.end())


def superseding(
    earlier: Council, later: Council, reason: str = "Updated Action Plan"
) -> SupersedeDecision:
    command = command_of(
        "supersede", earlier.decision_id, "chair", superseded_by=later.decision_id, reason=reason
    )
    assert isinstance(command, SupersedeDecision)
    return command


async def completed(council: Council) -> None:
    await council.planned()
    await council.do("complete_action_item", "chair", item_id="A1")
    await council.do("complete_action_item", "RUS", item_id="A2")
    await council.do("complete", "chair", summary="Implemented")
    result = await council.decisions.outcome(council.decision_id, timeout=60)
    assert result.status == "completed" and result.archived


async def test_a_completed_decision_is_superseded_and_both_streams_record_the_link(
    pair: tuple[Council, Council],
) -> None:
    earlier, later = pair
    await completed(earlier)
    await later.adopted()
    command = superseding(earlier, later)

    result = await earlier.decisions.supersede(command, key="supersede-2004")

    assert result.superseded.event_types == ("DecisionSuperseded",)
    assert result.successor.event_types == ("DecisionSupersedes",)
    [superseded] = (await earlier.store.stream(earlier.decision_id))[-1:]
    [supersedes] = (await later.store.stream(later.decision_id))[-1:]
    assert superseded.payload == {
        "superseded_by": later.decision_id,
        "reason": "Updated Action Plan",
    }
    assert supersedes.payload == {
        "supersedes": earlier.decision_id,
        "reason": "Updated Action Plan",
    }
    assert (superseded.event_id, superseded.hash) == (
        result.superseded.event_ids[0],
        result.superseded.hashes[0],
    )
    assert (await later.state()).supersedes == (earlier.decision_id,)
    # The completed decision took the command in a new run started from its log, which
    # archived the run before it; that run closed and was archived too (by the log's
    # follower), so a replay audit still explains every event of the log.
    reopened = await earlier.closed()
    assert reopened.status == "superseded" and reopened.archived
    report = await replay_decision(earlier.store, earlier.decision_id)
    assert report.ok, report.failures
    assert report.runs == 2 and report.events_implied == report.events_stored

    again = await earlier.decisions.supersede(command, key="supersede-2004")
    assert again == result, "the same request retried gets the same receipts"
    with pytest.raises(Refusal) as twice:
        await earlier.decisions.supersede(command, key="supersede-2004-again")
    assert twice.value.rule is Rule.ALREADY_SUPERSEDES, "another request is not a retry"
    assert len(await later.store.stream(later.decision_id)) == result.successor.stream_version


async def test_a_decision_in_implementation_is_superseded_by_one_in_implementation(
    pair: tuple[Council, Council],
) -> None:
    earlier, later = pair
    await earlier.planned()
    await later.planned()
    command = superseding(earlier, later)
    await earlier.decisions.supersede(command)
    result = await earlier.decisions.outcome(earlier.decision_id, timeout=60)
    assert result.status == "superseded"
    state = await later.state()
    assert state.status.value == "in_implementation" and state.supersedes == (earlier.decision_id,)


async def test_a_successor_that_is_missing_or_not_adopted_changes_nothing(
    pair: tuple[Council, Council],
) -> None:
    earlier, later = pair
    await earlier.adopted()
    command = superseding(earlier, later)
    with pytest.raises(NotFound, match=f"no decision {later.decision_id}"):
        await earlier.decisions.supersede(command)

    await later.forwarded()
    with pytest.raises(Refusal) as not_adopted:
        await earlier.decisions.supersede(command)
    assert not_adopted.value.rule is Rule.SUCCESSOR_NOT_ADOPTED
    assert "DecisionSuperseded" not in await earlier.types()
    assert "DecisionSupersedes" not in await later.types()
    assert (await earlier.state()).status.value == "adopted"


async def test_a_decision_not_yet_adopted_cannot_be_superseded_and_its_successor_is_untouched(
    pair: tuple[Council, Council],
) -> None:
    earlier, later = pair
    await earlier.forwarded()
    await later.adopted()
    command = superseding(earlier, later)
    with pytest.raises(Refusal) as refused:
        await earlier.decisions.supersede(command)
    assert refused.value.rule is Rule.WRONG_STATE
    assert "DecisionSupersedes" not in await later.types()


async def test_a_key_given_again_for_another_supersession_is_refused(
    pair: tuple[Council, Council],
) -> None:
    earlier, later = pair
    await earlier.adopted()
    await later.adopted()
    first = superseding(earlier, later)
    other = superseding(earlier, later, reason="Another reason")
    await earlier.decisions.supersede(first, key="k-1")
    with pytest.raises((InvalidInput, Refusal)):
        await earlier.decisions.supersede(other, key="k-1")
    assert (await later.types()).count("DecisionSupersedes") == 1
