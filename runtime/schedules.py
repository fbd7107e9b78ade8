"""The schedule that publishes the log's checkpoints, kept in Temporal under a fixed id, and the
audit layer's tree and signer its activity is given."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import httpx
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from activities.checkpoints import Witnessing
from audit.checkpoint import Checkpoint, check_origin, checked
from audit.cosigning import WitnessPolicy, cosigned_note, gather
from audit.note import Signer, split
from audit.tree import StoredTree, caught_up
from store.eventstore import EventStore
from workflows.checkpoints import CheckpointWorkflow
from workflows.messages import CHECKPOINT_SCHEDULE_ID, CHECKPOINT_WORKFLOW_ID, CheckpointInput


class AuditTreeSigner:
    """The log's stored Merkle tree, the C2SP checkpoint signed as a note, and the witnesses of
    `policy` asked to cosign it (activities.checkpoints.TreeSigner)."""

    def __init__(self, policy: WitnessPolicy | None = None) -> None:
        self._policy = policy

    async def cosign(self, store: EventStore, size: int, signed: str) -> Witnessing | None:
        if self._policy is None:
            return None
        checkpoint = Checkpoint.parse(split(signed)[0])
        async with httpx.AsyncClient(follow_redirects=False) as http:
            gathered = await gather(
                store, StoredTree(store), self._policy, signed, checkpoint, http
            )
        cosigned = self._policy.cosigned(await cosigned_note(store, signed, size))
        return Witnessing(len(cosigned), self._policy.quorum, gathered.refusals, gathered.forks)

    async def head(self, store: EventStore, key: str) -> tuple[int, bytes]:
        signer = Signer.parse(key)
        made = await checked(store, await caught_up(store), signer.name, signer.verifier)
        return made.size, made.root

    def sign(self, key: str, origin: str, size: int, root: bytes) -> str:
        return Signer.parse(key).sign(Checkpoint(check_origin(origin), size, root).text())


def checkpoint_schedule(task_queue: str, interval: timedelta) -> Schedule:
    """A CheckpointWorkflow on `task_queue` every `interval`; a run still under way when the
    next is due makes it skipped, and runs missed while Temporal was down are not made up."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            CheckpointWorkflow.run,
            CheckpointInput(),
            id=CHECKPOINT_WORKFLOW_ID,
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=interval)]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=interval),
    )


async def ensure_checkpoint_schedule(
    client: Client, task_queue: str, interval: timedelta
) -> ScheduleHandle:
    """The checkpoint schedule (`concord-checkpoints`), created if missing and otherwise made
    to start CheckpointWorkflow on `task_queue` every `interval`; whether an operator paused it
    is kept."""
    wanted = checkpoint_schedule(task_queue, interval)
    try:
        return await client.create_schedule(CHECKPOINT_SCHEDULE_ID, wanted)
    except ScheduleAlreadyRunningError:
        pass
    handle = client.get_schedule_handle(CHECKPOINT_SCHEDULE_ID)

    def updated(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
        existing = current.description.schedule
        if _same(existing, wanted):
            return None
        return ScheduleUpdate(schedule=dataclasses.replace(wanted, state=existing.state))

    await handle.update(updated)
    return handle


def _same(existing: Schedule, wanted: Schedule) -> bool:
    action, expected = existing.action, wanted.action
    return (
        isinstance(action, ScheduleActionStartWorkflow)
        and isinstance(expected, ScheduleActionStartWorkflow)
        and (action.workflow, action.task_queue) == (expected.workflow, expected.task_queue)
        and [i.every for i in existing.spec.intervals] == [i.every for i in wanted.spec.intervals]
        and existing.policy.overlap == wanted.policy.overlap
        and existing.policy.catchup_window == wanted.policy.catchup_window
    )
