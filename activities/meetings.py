"""The side effects of a sitting: its agenda read from what is pending, its record in its
meeting's stream, each decision concerned told; and the sitting an extraordinary request
calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import activity
from temporalio.client import Client

from activities.webhooks import start_once
from domain.agenda import agenda_for, meeting_id
from domain.cadence import Cadence
from domain.commands import Command
from domain.council import Council
from domain.council_events import SittingConvened, SittingKind
from domain.errors import ConcordError, InvalidInput, NotFound, Unavailable
from domain.events import Event, ExtraordinaryMeetingRequested
from domain.roster import CHAIR, Body, levels_of
from store.council_events import new_council_event
from store.councils import Councils
from store.eventstore import EventStore
from store.queries import kept_sitting, open_decision_states
from workflows.failures import to_failure
from workflows.meeting import MEETINGS_PRINCIPAL, MeetingWorkflow
from workflows.messages import (
    CONVENE_SITTING,
    PLAN_EXTRAORDINARY_SITTING,
    SCHEDULE_AGENDA_ITEM,
    ConveneInput,
    ConveneResult,
    ExtraordinaryPlan,
    ExtraordinaryRequest,
    MeetingInput,
    Receipt,
    ScheduleItemInput,
    ScheduleItemResult,
    extraordinary_meeting_id,
)

Execute = Callable[[Command, str], Awaitable[Receipt]]
"""Gives a command with its idempotency key to its decision's workflow (the decision client's
`execute`, wired by the composition root)."""


class MeetingActivities:
    """Reads what is pending, records sittings, and puts decisions on their agendas."""

    def __init__(self, store: EventStore, execute: Execute) -> None:
        self._store = store
        self._execute = execute

    @activity.defn(name=CONVENE_SITTING)
    async def convene_sitting(self, input: ConveneInput) -> ConveneResult:
        """Record the sitting and the agenda pending at its instant, once: a retry, or the same
        sitting convened again, finds the record and returns it."""
        council = await Councils(self._store).in_force()
        body = _body(council, input.body)
        kind = SittingKind.EXTRAORDINARY if input.request else SittingKind.REGULAR
        stream = meeting_id(body.code, input.sitting_at, extraordinary=input.request is not None)
        kept = await kept_sitting(self._store, stream)
        if kept is not None:
            return ConveneResult(meeting_id=stream, agenda=kept.convened.agenda)
        following = None
        if body.cadence is not None:
            following = body.cadence.next_sitting(council.anchor, input.sitting_at)
        states = await open_decision_states(self._store)
        agenda = agenda_for(body, states, input.sitting_at, following, levels_of(council.bodies))
        request = input.request
        sitting = SittingConvened(
            stream_id=stream,
            stream_version=1,
            occurred_at=input.sitting_at,
            actor=CHAIR,
            recorded_by=MEETINGS_PRINCIPAL,
            body=body.code,
            sitting_at=input.sitting_at,
            kind=kind,
            agenda=tuple(agenda),
            requested_by=request.requested_by if request else None,
            request=f"{request.decision_id}@{request.stream_version}" if request else None,
        )
        try:
            await self._store.append(stream, 0, [new_council_event(sitting)])
        except Unavailable as away:
            raise to_failure(away, retryable=True) from None
        return ConveneResult(meeting_id=stream, agenda=sitting.agenda)

    @activity.defn(name=PLAN_EXTRAORDINARY_SITTING)
    async def plan_extraordinary_sitting(self, input: ExtraordinaryRequest) -> ExtraordinaryPlan:
        """The body asked for (the Council at the requested level, else the decision's own
        body) sits at its first slot within its delay, unless a regular sitting of it falls
        within that delay; a body the council in force lacks fails the sitting, not retried."""
        council = await Councils(self._store).in_force()
        book = council.roster_book().latest
        try:
            body = book.council_at(input.level)
        except NotFound:
            decision = await self._store.stream(input.decision_id, from_version=1)
            if not decision:
                raise to_failure(NotFound(f"no decision {input.decision_id}")) from None
            code = str(decision[0].payload["body"])
            if not book.is_body(code):
                raise to_failure(
                    NotFound(
                        f"decision {input.decision_id} belongs to body {code}, which council "
                        f"{council.code} no longer has, and the council sits at no level "
                        f"{input.level}: no sitting can meet its request"
                    )
                ) from None
            body = book.body(code)
        cadence = body.cadence or Cadence()
        latest = input.requested_at + cadence.extraordinary_within
        regular = cadence.next_sitting(council.anchor, input.requested_at)
        if regular is not None and regular <= latest:
            return ExtraordinaryPlan(body=body.code, sitting_at=None, regular_at=regular)
        return ExtraordinaryPlan(
            body=body.code, sitting_at=cadence.extraordinary_sitting(input.requested_at)
        )

    @activity.defn(name=SCHEDULE_AGENDA_ITEM)
    async def schedule_agenda_item(self, input: ScheduleItemInput) -> ScheduleItemResult:
        """Put one decision on the sitting's agenda; a decision that refuses (it closed since
        the agenda was read) is reported, not retried."""
        try:
            await self._execute(input.command, input.idempotency_key)
        except Unavailable as away:
            raise to_failure(away, retryable=True) from None
        except ConcordError as refused:
            return ScheduleItemResult(scheduled=False, refused=refused.line())
        return ScheduleItemResult(scheduled=True)


def _body(council: Council, code: str) -> Body:
    body = council.body(code)
    if body is None:
        raise to_failure(InvalidInput("body", f"council {council.code} has no body {code}"))
    return body


class ExtraordinarySittings:
    """A notifier (activities.notify.Notifier) that calls the sitting each request for an
    extraordinary meeting asks for: one MeetingWorkflow per request, whose id the request
    gives, so a notification sent again never calls a second sitting."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def send(self, decision_id: str, event: Event) -> None:
        if not isinstance(event, ExtraordinaryMeetingRequested):
            return
        request = ExtraordinaryRequest(
            decision_id=decision_id,
            stream_version=event.stream_version,
            level=event.level,
            requested_by=event.actor,
            requested_at=event.occurred_at,
        )
        await start_once(
            self._client,
            MeetingWorkflow.run,
            MeetingInput(request=request),
            extraordinary_meeting_id(decision_id, event.stream_version),
            self._task_queue,
        )
