"""Records representative workflow histories for the replay test (those not recorded yet): run
it after a deliberate change of workflow behaviour, never to paper over a replay failure.

    .venv/bin/python -m tests.histories.record
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Final

from temporalio.testing import WorkflowEnvironment

from audit.signing import MemberKey
from runtime.bootstrap import build_worker
from runtime.decisions import DecisionClient
from store.eventstore import EventStore, open_store
from store.migrate import upgrade
from tests.integration.workflows.council import Council
from tests.temporal import TEST_SERVER, binary
from workflows.converter import DATA_CONVERTER
from workflows.messages import supersession_id

HERE = Path(__file__).parent


async def consensus_then_implementation(c: Council) -> None:
    await c.planned(report_days=30)
    await c.do("raise_issue", "POL", title="Data exchange delayed")
    await c.do(
        "propose_issue_resolution",
        "chair",
        issue=1,
        text="Deliver by March",
        deadline=await c.later(days=2),
    )
    await c.do("report_progress", "RUS", item_id="A2", summary="Exchanged")
    await c.sleep(days=2, minutes=1)
    await c.do("complete_action_item", "chair", item_id="A1")
    await c.do("complete_action_item", "RUS", item_id="A2")
    await c.do("report_progress", "PC", summary="Report back to Ambassadors")
    await c.do("complete", "chair", summary="Done")


async def objection_and_second_round(c: Council) -> None:
    await c.forwarded()
    first = await c.round_open(days=3, reminder_before_seconds=86_400)
    text_hash = (await c.state()).round(first).text_hash
    await c.do("concur", "USA", round=first, text_hash=text_hash)
    await c.do("break_silence", "RUS", round=first, text_hash=text_hash, reasons="Too narrow")
    await c.sleep(days=3, minutes=1)
    await c.do("complete_review", "chair", outcome="amend", text="Amended text")
    second = await c.round_open(days=2)
    text_hash = (await c.state()).round(second).text_hash
    await c.do("register_concern", "NOR", round=second, statement="Human rights")
    await c.sleep(days=2, minutes=1)
    await c.do("supersede", "chair", superseded_by="d-later")


async def suspended_then_withdrawn(c: Council) -> None:
    await c.forwarded()
    await c.round_open(days=2)
    await c.do("suspend", "chair", reason="Consultations")
    await c.sleep(days=1)
    await c.do("resume", "chair")
    await c.do("request_meeting", "RUS", reason="Discuss")
    await c.do("withdraw", "POL", reason="Overtaken by events")


async def implemented_and_completed(c: Council) -> None:
    """An adopted decision planned with one joint item, carried out, reported and completed."""
    await c.do(
        "plan_implementation",
        "chair",
        action_items=[
            {
                "item_id": "A1",
                "description": "Joint assessment",
                "assignee": {"kind": "all_members"},
            }
        ],
        report_back_deadline=await c.later(days=30),
    )
    await c.do("report_progress", "RUS", item_id="A1", summary="National part done")
    await c.do("complete_action_item", "PC", item_id="A1")
    await c.do("report_progress", "PC", summary="Report back to Ambassadors")
    await c.do("complete", "chair", summary="Done")


async def silence_then_completion(c: Council) -> None:
    """The patched paths of 2026-11: a proposal started with update-with-start, notifications
    sent beside the loop, the clock's reminder and silence decided at their instants."""
    await c.forwarded()
    await c.round_open(days=2, reminder_before_seconds=86_400)
    await c.sleep(days=2, minutes=1)
    await implemented_and_completed(c)


async def unanimous_adoption(c: Council) -> None:
    """A round agreed by every member's concurrence, recorded as the procedure's outcome."""
    await c.adopted()
    await implemented_and_completed(c)


async def joint_item_by_monitoring_body(c: Council) -> None:
    """A joint item each member reports on, completed by the monitoring body (2026-11-26)."""
    await c.adopted()
    await implemented_and_completed(c)


async def extended_deadline_with_a_steady_alarm(c: Council) -> None:
    """The run loop's one alarm across waits (2026-11-26), moved when a deadline moves: a round
    extended, agreed by silence at its new deadline, then implemented, in a decision whose
    agenda a sitting set."""
    await c.forwarded()
    number = await c.round_open(days=2)
    await c.round_extended(number, days=3)
    await c.sleep(days=1)
    await c.do(
        "schedule_agenda_item",
        "system",
        principal="system:meetings",
        meeting_id="meeting.nrc-amb-20261217t1000z",
        body="NRC-AMB",
        sitting_at=await c.later(hours=1),
        item="round_closing",
        detail="round 1",
    )
    await c.sleep(days=2, minutes=1)
    await implemented_and_completed(c)


async def appended_locally(c: Council) -> None:
    """Batches stored by a local activity in the task that decided them (2026-11-26): an
    objection, an amended text, a round every member answers at once, then implementation."""
    await objection_then_unanimity(c)
    await implemented_and_completed(c)


async def objection_then_second_round(c: Council) -> int:
    """A round whose silence RUS breaks, the text amended, and a second round opened: its
    number."""
    await c.forwarded()
    first = await c.round_open(days=3)
    text_hash = (await c.state()).round(first).text_hash
    await c.do("break_silence", "RUS", round=first, text_hash=text_hash, reasons="Too narrow")
    await c.sleep(days=3, minutes=1)
    await c.do("complete_review", "chair", outcome="amend", text="Amended text")
    return await c.round_open(days=2)


async def objection_then_unanimity(c: Council) -> None:
    await c.all_concur(await objection_then_second_round(c))


async def answers_signed_and_on_behalf(c: Council) -> None:
    """Answers a member's key signed, and one the secretariat recorded in a member's name
    without it, of which the member is told (2026-12-06)."""
    await c.forwarded()
    number = await c.round_open(days=2)
    text_hash = (await c.state()).round(number).text_hash
    rus = MemberKey.generate("RUS")
    concur = c.command("concur", "RUS", round=number, text_hash=text_hash)
    await c.decisions.execute(rus.sign_answer(concur, "nrc.example/concord", "rus-concur"))
    concern = c.command("register_concern", "RUS", round=number, statement="Rights")
    await c.decisions.execute(rus.sign_answer(concern, "nrc.example/concord", "rus-concern"))
    await c.do("concur", "NOR", "operator:secretariat", round=number, text_hash=text_hash)
    await c.sleep(days=2, minutes=1)
    await implemented_and_completed(c)


async def told_from_the_log(c: Council) -> None:
    """Notable events that the log's follower tells, none by an activity of the run
    (2026-12-07): a round broken and a second one, an answer recorded in a member's name, an
    extraordinary meeting requested, then implementation."""
    second = await objection_then_second_round(c)
    text_hash = (await c.state()).round(second).text_hash
    await c.do("concur", "NOR", "operator:secretariat", round=second, text_hash=text_hash)
    await c.do("request_meeting", "POL", level="ambassadors", reason="Urgent")
    await c.sleep(days=2, minutes=1)
    await implemented_and_completed(c)


SCENARIOS: dict[str, Callable[[Council], Awaitable[None]]] = {
    "consensus_then_implementation": consensus_then_implementation,
    "objection_and_second_round": objection_and_second_round,
    "suspended_then_withdrawn": suspended_then_withdrawn,
    "silence_then_completion": silence_then_completion,
    "unanimous_adoption": unanimous_adoption,
    "joint_item_by_monitoring_body": joint_item_by_monitoring_body,
    "extended_deadline_with_a_steady_alarm": extended_deadline_with_a_steady_alarm,
    "appended_locally": appended_locally,
    "answers_signed_and_on_behalf": answers_signed_and_on_behalf,
    "told_from_the_log": told_from_the_log,
    # The same, on code that folds the patches before it into the release's one marker.
    "one_marker_for_the_release": told_from_the_log,
    # The same again, the run a decision closes in archived by the log's follower, not by itself.
    "closed_run_archived_by_the_follower": told_from_the_log,
    # A deadline moved later on code whose alarm rings early: it wakes the loop at the deadline
    # it was set for, and the loop sets the next one then.
    "alarm_rings_early": extended_deadline_with_a_steady_alarm,
}


async def continued_as_new(c: Council) -> None:
    """A decision whose runs continue as new after 10 events (the client's setting here): the
    last run archives the one before beside its loop (2026-11-26) while reports come in."""
    await c.planned(report_days=30)
    for n in range(12):
        await c.do("report_progress", "RUS", key=f"report-{n}", item_id="A2", summary=f"R{n}")
    await c.do("complete_action_item", "chair", item_id="A1")
    await c.do("complete_action_item", "RUS", item_id="A2")
    await c.do("complete", "chair", summary="Done")


CONTINUED: Final = "continued_as_new"
"""Recorded with a client whose decisions continue as new after 10 events: its last run."""


SUPERSESSION: tuple[str, str] = ("supersession", "superseded_after_completion")
"""The supersession's own workflow, and the new run a completed decision took it in."""


async def supersession(
    env: WorkflowEnvironment, decisions: DecisionClient, store: EventStore
) -> None:
    if all((HERE / f"{name}.json").exists() for name in SUPERSESSION):
        return
    earlier = Council(env, decisions, store, decision_id="superseded-after-completion")
    later = Council(env, decisions, store, decision_id="successor")
    await earlier.adopted()
    await implemented_and_completed(earlier)
    await decisions.handle(earlier.decision_id).result()
    await later.adopted()
    command = earlier.command(
        "supersede", "chair", superseded_by=later.decision_id, reason="Updated Action Plan"
    )
    await decisions.supersede(command, key="supersession")
    await decisions.handle(earlier.decision_id).result()
    saga = env.client.get_workflow_handle(supersession_id("supersession", command))
    for name, handle in zip(
        SUPERSESSION, (saga, decisions.handle(earlier.decision_id)), strict=True
    ):
        history = await handle.fetch_history()
        (HERE / f"{name}.json").write_text(history.to_json())
        print(f"recorded {name}: {len(history.events)} events")
    await later.end()


async def record() -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary(TEST_SERVER), data_converter=DATA_CONVERTER
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/concord.db"
        await upgrade(url)
        store = await open_store(url)
        try:
            async with build_worker(env.client, store, "record-histories"):
                decisions = DecisionClient(env.client, "record-histories", search_attributes=False)
                for name, scenario in SCENARIOS.items():
                    if (HERE / f"{name}.json").exists():
                        continue  # a committed history is kept: it guards the code it ran on
                    council = Council(env, decisions, store, decision_id=name.replace("_", "-"))
                    await scenario(council)
                    await decisions.handle(council.decision_id).result()
                    history = await decisions.handle(council.decision_id).fetch_history()
                    (HERE / f"{name}.json").write_text(history.to_json())
                    print(f"recorded {name}: {len(history.events)} events")
                if not (HERE / f"{CONTINUED}.json").exists():
                    short_runs = DecisionClient(
                        env.client,
                        "record-histories",
                        search_attributes=False,
                        max_events_per_run=10,
                    )
                    council = Council(env, short_runs, store, decision_id="continued-as-new")
                    await continued_as_new(council)
                    handle = decisions.handle(council.decision_id)
                    await handle.result()
                    history = await handle.fetch_history()
                    (HERE / f"{CONTINUED}.json").write_text(history.to_json())
                    print(f"recorded {CONTINUED}: {len(history.events)} events")
                await supersession(env, decisions, store)
        finally:
            await store.close()
            await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record())
