"""The append activity on its own (Temporal's ActivityEnvironment, a real SQLite store)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.events import EventActivities
from domain.commands import command_of
from domain.decider import decide, evolve
from domain.errors import InvalidInput
from domain.events import Event
from store.eventstore import EventStore
from workflows.failures import from_failure
from workflows.messages import AppendInput

NOW = datetime(2004, 12, 9, 9, 0, tzinfo=UTC)


def first_events() -> list[Event]:
    proposed = decide(
        None,
        command_of(
            "submit_proposal", "d-act", "POL", title="T", text="x", area="crisis_management"
        ),
        NOW,
    )
    state = evolve(None, proposed[0])
    referred = decide(state, command_of("refer", "d-act", "chair"), NOW)
    return [*proposed, *referred]


async def test_a_batch_is_stored_once_and_its_retry_returns_the_same_refs(
    env: WorkflowEnvironment, store: EventStore
) -> None:
    append = EventActivities(store, env.client).append_events
    batch = AppendInput(decision_id="d-act", expected_version=0, events=tuple(first_events()))

    stored = await ActivityEnvironment().run(append, batch)
    retried = await ActivityEnvironment().run(append, batch)

    assert retried == stored
    assert [ref.stream_version for ref in stored.events] == [1, 2]
    assert [e.event_id for e in await store.stream("d-act")] == [
        ref.event_id for ref in stored.events
    ]


async def test_a_batch_the_store_refuses_fails_retryably_and_carries_the_error(
    env: WorkflowEnvironment, store: EventStore
) -> None:
    append = EventActivities(store, env.client).append_events
    gap = AppendInput(decision_id="d-act", expected_version=5, events=tuple(first_events()))

    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(append, gap)

    assert not failed.value.non_retryable, "the decision waits for a repair, it never fails"
    carried = from_failure(failed.value)
    assert isinstance(carried, InvalidInput) and carried.field == "stream_version"
    assert await store.stream("d-act") == []
