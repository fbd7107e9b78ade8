"""A notification channel that fails never holds a decision up."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.events import Event
from runtime.bootstrap import build_worker
from runtime.decisions import DecisionClient
from store.eventstore import EventStore
from tests.councils import testing_rosters
from tests.integration.workflows.council import Council
from tests.shutdown import bounded, stopped


class ChannelDown:
    """A notifier whose every delivery fails, as a mail server that is down."""

    attempts = 0

    async def send(self, decision_id: str, event: Event) -> None:
        ChannelDown.attempts += 1
        raise ConnectionError("the mail relay refused the connection")


@pytest.fixture
async def council(env: WorkflowEnvironment, store: EventStore) -> AsyncIterator[Council]:
    task_queue = f"concord-notify-{uuid.uuid4().hex[:8]}"
    async with bounded(
        f"the worker on task queue {task_queue}",
        build_worker(env.client, store, task_queue, notifier=ChannelDown()),
    ):
        decisions = DecisionClient(
            env.client, task_queue, search_attributes=False, rosters=testing_rosters
        )
        driver = Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")
        yield driver
        await stopped(f"decision {driver.decision_id}'s workflow", driver.end())


async def test_a_round_is_adopted_while_the_notification_of_its_opening_still_fails(
    council: Council,
) -> None:
    await council.forwarded()
    number = await council.round_open()

    receipts = await council.all_concur(number)

    assert any("DecisionAdopted" in r.event_types for r in receipts)
    description = await council.decisions.handle(council.decision_id).describe()
    pending = [a.activity_type.name for a in description.raw_description.pending_activities]
    # The opening's notification is still being retried beside the adoption's: neither held
    # the answers up (sent one after the other, the answers would have waited for the first).
    assert pending.count("concord.notify") == 2
    assert ChannelDown.attempts >= 1
