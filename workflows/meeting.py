"""MeetingWorkflow: one sitting of a body, with the agenda pending at its instant."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from domain.commands import ScheduleAgendaItem
    from domain.values import SYSTEM
    from workflows.messages import (
        CONVENE_SITTING,
        PLAN_EXTRAORDINARY_SITTING,
        SCHEDULE_AGENDA_ITEM,
        ConveneInput,
        ConveneResult,
        ExtraordinaryPlan,
        ExtraordinaryRequest,
        MeetingInput,
        MeetingResult,
        ScheduleItemInput,
        ScheduleItemResult,
    )

SCHEDULED_AT: Final = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
"""Set by a schedule on each workflow it starts: the instant the run was scheduled for."""
MEETINGS_PRINCIPAL: Final = "system:meetings"
STEP_TIMEOUT: Final = timedelta(minutes=1)
STEP_RETRY: Final = RetryPolicy(maximum_interval=timedelta(minutes=1))
"""A store or decision briefly away is waited for; the sitting's record is written once."""


@workflow.defn
class MeetingWorkflow:
    """Convenes one sitting at its instant: records it with its agenda in the meeting's stream,
    then puts each decision concerned on that agenda in its own stream."""

    @workflow.run
    async def run(self, input: MeetingInput) -> MeetingResult:
        body, sitting_at = input.body, input.sitting_at
        if input.request is not None:
            plan = await self._plan_extraordinary(input.request)
            if plan.sitting_at is None:  # a regular sitting within the delay takes the request
                return MeetingResult(meeting_id=None)
            body, sitting_at = plan.body, plan.sitting_at
        sitting_at = sitting_at or self._scheduled_at()
        if sitting_at > workflow.now():
            await workflow.sleep(sitting_at - workflow.now())
        convened: ConveneResult = await workflow.execute_activity(
            CONVENE_SITTING,
            ConveneInput(body=body, sitting_at=sitting_at, request=input.request),
            result_type=ConveneResult,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        refused: list[str] = []
        for item in convened.agenda:
            command = ScheduleAgendaItem(
                decision_id=item.decision_id,
                actor=SYSTEM,
                recorded_by=MEETINGS_PRINCIPAL,
                meeting_id=convened.meeting_id,
                body=body,
                sitting_at=sitting_at,
                item=item.item,
                detail=item.detail,
            )
            result: ScheduleItemResult = await workflow.execute_activity(
                SCHEDULE_AGENDA_ITEM,
                ScheduleItemInput(
                    command=command, idempotency_key=f"{convened.meeting_id}/{item.item.value}"
                ),
                result_type=ScheduleItemResult,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
            if not result.scheduled:
                refused.append(f"{item.decision_id}: {result.refused}")
        return MeetingResult(
            meeting_id=convened.meeting_id,
            agenda=convened.agenda,
            scheduled=len(convened.agenda) - len(refused),
            refused=tuple(refused),
        )

    async def _plan_extraordinary(self, request: ExtraordinaryRequest) -> ExtraordinaryPlan:
        plan: ExtraordinaryPlan = await workflow.execute_activity(
            PLAN_EXTRAORDINARY_SITTING,
            request,
            result_type=ExtraordinaryPlan,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        return plan

    def _scheduled_at(self) -> datetime:
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_AT)
        return scheduled or workflow.now()
