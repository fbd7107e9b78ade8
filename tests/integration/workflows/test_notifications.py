"""People are told of a decision's notable events by the log's follower: a channel that fails
holds up neither the decision nor the read models, and it is given every notable event, in log
order, once it takes them; an answer the secretariat recorded in a member's name is told to it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.notify import NOTIFICATIONS
from domain.events import Event
from runtime.bootstrap import build_worker, following, projector
from runtime.decisions import DecisionClient
from store.eventstore import EventStore
from store.read_models import DECISIONS_PROJECTION
from tests.councils import testing_rosters
from tests.integration.workflows.council import Council
from tests.shutdown import bounded, stopped
from tests.waiting import until
from workflows.decision import NOTIFIED


class Channel:
    """A notifier that keeps what it took; while `down`, it refuses every event, as a mail
    server that is down."""

    def __init__(self) -> None:
        self.down = False
        self.refused = 0
        self.took: list[tuple[str, int, str, str]] = []
        """(decision, stream version, type, actor) of each event taken, in order."""

    async def send(self, decision_id: str, event: Event) -> None:
        if self.down:
            self.refused += 1
            raise ConnectionError("the mail relay refused the connection")
        self.took.append((decision_id, event.stream_version, event.type, event.actor))


@pytest.fixture
def channel() -> Channel:
    return Channel()


@pytest.fixture
async def council(
    env: WorkflowEnvironment, store: EventStore, channel: Channel
) -> AsyncIterator[Council]:
    task_queue = f"concord-notify-{uuid.uuid4().hex[:8]}"
    async with (
        bounded(
            f"the worker on task queue {task_queue}",
            build_worker(env.client, store, task_queue),
        ),
        bounded(
            "the projector",
            following(projector(store, env.client, task_queue, notifier=channel)),
        ),
    ):
        decisions = DecisionClient(
            env.client, task_queue, search_attributes=False, rosters=testing_rosters
        )
        driver = Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")
        yield driver
        await stopped(f"decision {driver.decision_id}'s workflow", driver.end())


async def test_a_round_is_adopted_and_listed_while_the_channel_is_down_and_told_once_it_is_up(
    council: Council, store: EventStore, channel: Channel
) -> None:
    channel.down = True
    await council.forwarded()
    number = await council.round_open()

    receipts = await council.all_concur(number)

    assert any("DecisionAdopted" in r.event_types for r in receipts)
    head = (await store.head())[0]

    async def listed() -> bool:
        listed = await store.projections.position(DECISIONS_PROJECTION) == head
        return listed and channel.refused >= 1

    await until(listed)
    assert channel.refused >= 1 and channel.took == []
    assert await store.projections.position(NOTIFICATIONS) < head
    history = await council.decisions.handle(council.decision_id).fetch_history()
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    assert "concord.notify" not in scheduled, "the decision's run tells nobody itself"

    channel.down = False

    async def told() -> bool:
        return await store.projections.position(NOTIFICATIONS) == head

    await until(told)
    notable = [
        (e.decision_id, e.stream_version, e.type, e.actor)
        for e in await store.stream(council.decision_id)
        if e.type in NOTIFIED
    ]
    assert channel.took == notable, "every notable event, once, in log order"
    assert {"ConsensusRoundOpened", "DecisionAdopted"} <= {t[2] for t in channel.took}


async def test_an_answer_recorded_in_a_members_name_is_told_to_it_and_its_own_is_not(
    council: Council, store: EventStore, channel: Channel
) -> None:
    await council.forwarded()
    number = await council.round_open()
    text_hash = (await council.state()).round(number).text_hash

    for_rus = await council.do(
        "concur", "RUS", principal="operator:secretariat", round=number, text_hash=text_hash
    )
    own = await council.do("concur", "USA", round=number, text_hash=text_hash)
    head = (await store.head())[0]

    async def told() -> bool:
        return await store.projections.position(NOTIFICATIONS) == head

    await until(told)
    answers = [t for t in channel.took if t[2] == "ConcurrenceRecorded"]
    assert answers == [(council.decision_id, for_rus.stream_version, "ConcurrenceRecorded", "RUS")]
    assert own.stream_version not in {t[1] for t in channel.took}
