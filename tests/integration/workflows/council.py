"""A test driver for decision workflows: commands by kind and actor, on the test server's clock."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.commands import command_of
from domain.errors import Refusal, Rule
from domain.state import DecisionState
from runtime.decisions import DecisionClient
from store.eventstore import EventStore
from tests.temporal import archived_by_the_follower
from workflows.messages import DecisionResult, Receipt

TEXT = "The NATO-Russia Council adopts an Action Plan on Terrorism."


class Council:
    """Drives one decision through the real workflow and reads back what the log holds."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        decisions: DecisionClient,
        store: EventStore,
        decision_id: str = "d-terrorism",
    ) -> None:
        self.env = env
        self.decisions = decisions
        self.store = store
        self.decision_id = decision_id

    def command(self, kind: str, actor: str, principal: str | None = None, **fields: Any) -> Any:
        return command_of(kind, self.decision_id, actor, principal, **fields)

    async def do(
        self,
        kind: str,
        actor: str,
        principal: str | None = None,
        key: str | None = None,
        **fields: Any,
    ) -> Receipt:
        command = self.command(kind, actor, principal, **fields)
        if kind == "submit_proposal":
            return await self.decisions.propose(command, key)
        return await self.decisions.execute(command, key)

    async def refused(
        self, rule: Rule, kind: str, actor: str, principal: str | None = None, **fields: Any
    ) -> Refusal:
        with pytest.raises(Refusal) as caught:
            await self.do(kind, actor, principal, **fields)
        assert caught.value.rule is rule, caught.value.message
        return caught.value

    async def now(self) -> datetime:
        return await self.env.get_current_time()

    async def later(self, **delta: float) -> str:
        return (await self.now() + timedelta(**delta)).isoformat()

    async def sleep(self, **delta: float) -> None:
        """Skip time on the test server, a day at a time so no single call runs long."""
        remaining = timedelta(**delta)
        while remaining > timedelta(0):
            step = min(remaining, timedelta(days=1))
            await self.env.sleep(step)
            remaining -= step

    async def state(self) -> DecisionState:
        status = await self.decisions.status(self.decision_id)
        assert status.state is not None
        return status.state

    async def types(self) -> list[str]:
        return [e.type for e in await self.store.stream(self.decision_id)]

    async def updates_in_history(self) -> list[str]:
        history = await self.decisions.handle(self.decision_id).fetch_history()
        return [
            e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
        ]

    # --- the usual path ---------------------------------------------------------------------

    async def proposed(self, proposer: str = "POL", **fields: Any) -> Council:
        defaults = {
            "title": "Action Plan on Terrorism",
            "text": TEXT,
            "area": "struggle_against_terrorism",
        }
        await self.do("submit_proposal", proposer, **{**defaults, **fields})
        return self

    async def forwarded(self, **fields: Any) -> Council:
        await self.proposed(**fields)
        await self.do("refer", "chair")
        await self.do("complete_review", "chair", outcome="forward")
        return self

    async def round_open(self, days: float = 7, **fields: Any) -> int:
        receipt = await self.do(
            "open_round", "chair", deadline=await self.later(days=days), **fields
        )
        assert receipt.event_types == ("ConsensusRoundOpened",)
        return len((await self.state()).rounds)

    async def round_extended(self, number: int, **delta: float) -> datetime:
        """The chair extends round `number` to `delta` from now: the new deadline."""
        deadline = await self.now() + timedelta(**delta)
        await self.do(
            "extend_deadline",
            "chair",
            target="round",
            round=number,
            new_deadline=deadline.isoformat(),
            reason="Capitals need time",
        )
        return deadline

    async def all_concur(
        self, round_number: int, members: tuple[str, ...] | None = None
    ) -> list[Receipt]:
        state = await self.state()
        r = state.round(round_number)
        return list(
            await asyncio.gather(
                *(
                    self.do("concur", m, round=round_number, text_hash=r.text_hash)
                    for m in (members if members is not None else r.members)
                )
            )
        )

    async def adopted(self) -> Council:
        await self.forwarded()
        number = await self.round_open()
        await self.all_concur(number)
        return self

    async def closed(self) -> DecisionResult:
        """The decision's result once its workflow has closed, the run it closed in archived by
        the log's follower (as the projector's archivist does, at its next pass)."""
        result = await self.decisions.outcome(self.decision_id, 30)
        await archived_by_the_follower(self.env.client, self.store)
        return result

    async def end(self) -> None:
        """Terminate the workflow if it still runs, so its timers stop moving the test clock."""
        handle = self.decisions.handle(self.decision_id)
        with contextlib.suppress(RPCError):
            if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                await handle.terminate("test finished")

    async def planned(self, report_days: float = 180, **fields: Any) -> Council:
        await self.adopted()
        items = [
            {
                "item_id": "A1",
                "description": "Joint threat assessment",
                "assignee": {"kind": "all_members"},
            },
            {
                "item_id": "A2",
                "description": "Exchange on terrorist financing",
                "assignee": {"kind": "member", "code": "RUS"},
            },
        ]
        await self.do(
            "plan_implementation",
            "chair",
            action_items=items,
            report_back_deadline=await self.later(days=report_days),
            **fields,
        )
        return self
