"""The replay audit: an archived history replays on the current code and implies exactly the
events the log holds; a log that differs from what its history implies is a finding."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import update
from temporalio.testing import WorkflowEnvironment

from audit.replay import replay_decision
from audit.verify import verify_log
from domain.commands import command_of
from domain.decider import decide
from runtime.decisions import DecisionClient
from store.archive import history_digest
from store.decision_events import new_event
from store.eventstore import EventStore, open_store
from store.migrate import upgrade
from store.schema import events, workflow_histories
from tests.integration.store.raw_sql import raw_transaction
from tests.integration.workflows.council import Council


async def closed_decision(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> str:
    council = Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")
    await council.proposed()
    await council.do("refer", "chair")
    await council.do("withdraw", "POL", reason="Overtaken by events")
    await council.closed()
    return council.decision_id


async def test_a_closed_decision_replays_and_implies_exactly_its_logged_events(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> None:
    decision_id = await closed_decision(env, decisions, store)

    report = await replay_decision(store, decision_id)

    assert report.ok, report.failures
    assert (report.runs, report.events_implied, report.events_stored) == (1, 3, 3)


async def test_a_log_that_holds_other_events_than_its_history_implies_is_a_finding(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore, tmp_path: Path
) -> None:
    decision_id = await closed_decision(env, decisions, store)
    [history] = await store.archive.histories(decision_id)
    url = f"sqlite+aiosqlite:///{tmp_path / 'forged.db'}"
    await upgrade(url)
    forged = await open_store(url)
    try:
        await forged.archive.keep(
            decision_id, history.workflow_id, history.run_id, history.history_json
        )
        proposal = command_of(
            "submit_proposal",
            decision_id,
            "POL",
            title="T",
            text="Another text",
            area="crisis_management",
        )
        [event] = decide(None, proposal, history.archived_at)
        await forged.append(decision_id, 0, [new_event(event)])

        report = await replay_decision(forged, decision_id)
    finally:
        await forged.close()

    assert not report.ok
    assert report.failures[0].startswith("version 1: the history implies ProposalSubmitted")
    assert any("missing from the log" in failure for failure in report.failures)


async def test_a_decision_in_flight_is_replayed_from_its_live_history_and_agrees(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> None:
    council = Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")
    await council.forwarded()
    await council.round_open()
    await council.do(
        "concur", "USA", round=1, text_hash=(await council.state()).rounds[0].text_hash
    )

    without = await replay_decision(store, council.decision_id)
    live = await decisions.live_history(council.decision_id)
    assert live is not None
    report = await replay_decision(store, council.decision_id, live)
    await council.end()

    assert not without.ok and "no history" in without.failures[0], "archives alone miss it"
    assert report.ok, report.failures
    assert report.live_run == live.run_id and report.runs == 1
    assert report.events_implied == report.events_stored == len(await council.types())


async def test_a_live_run_whose_log_was_altered_is_a_finding(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore, tmp_path: Path
) -> None:
    council = Council(env, decisions, store, decision_id=f"d-{uuid.uuid4().hex[:10]}")
    await council.proposed()
    live = await decisions.live_history(council.decision_id)
    await council.end()
    assert live is not None
    url = f"sqlite+aiosqlite:///{tmp_path / 'forged.db'}"
    await upgrade(url)
    forged = await open_store(url)
    try:
        proposal = command_of(
            "submit_proposal",
            council.decision_id,
            "POL",
            title="T",
            text="Another text",
            area="crisis_management",
        )
        [event] = decide(None, proposal, await council.now())
        await forged.append(council.decision_id, 0, [new_event(event)])
        report = await replay_decision(forged, council.decision_id, live)
    finally:
        await forged.close()
    assert not report.ok
    assert report.failures[0].startswith("version 1: the history implies ProposalSubmitted")


async def test_an_archive_rewritten_with_its_log_is_caught_by_the_event_that_bound_it(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> None:
    """A forger rewrites the archived history (here, which worker ran its tasks) so that replay
    alone still agrees with the log; the archive's digest, bound to the log when it was
    archived, does not. Rewriting that digest too breaks the chain at the binding's position."""
    decision_id = await closed_decision(env, decisions, store)
    [history] = await store.archive.histories(decision_id)
    bound = await store.archive.binding(history.run_id)
    assert bound is not None and bound.type == "HistoryArchived"
    assert bound.payload["digest"] == history_digest(history.history_json)
    forged = history.history_json.replace('"identity":"', '"identity":"forger-', 1)
    assert forged != history.history_json

    async with raw_transaction(store.url) as connection:
        await connection.execute(
            update(workflow_histories)
            .where(workflow_histories.c.run_id == history.run_id)
            .values(history_json=forged)
        )
    report = await replay_decision(store, decision_id)
    assert not report.ok
    assert report.failures[0] == (
        f"run {history.run_id}: its archived history is not the one the log bound at "
        f"position {bound.position} (digest differ): the archive was changed"
    )

    forged_digest = history_digest(forged)
    body = bound.body.replace(bound.payload["digest"].encode(), forged_digest.encode())
    async with raw_transaction(store.url) as connection:
        await connection.execute(
            update(events).where(events.c.position == bound.position).values(body=body)
        )
    assert (await replay_decision(store, decision_id)).ok, "the archive and its binding agree"
    verified = await verify_log(store)
    assert verified.first_break is not None
    assert verified.first_break.position == bound.position


async def test_a_run_archived_without_a_binding_is_a_finding(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> None:
    decision_id = await closed_decision(env, decisions, store)
    [history] = await store.archive.histories(decision_id)
    bound = await store.archive.binding(history.run_id)
    assert bound is not None
    async with raw_transaction(store.url) as connection:
        await connection.execute(
            update(workflow_histories)
            .where(workflow_histories.c.run_id == history.run_id)
            .values(run_id="another-run")
        )
    report = await replay_decision(store, decision_id)
    assert report.failures[0] == "run another-run: its archived history is not bound to the log"
