"""Each body's sittings as a Temporal Schedule, kept in step with the council in force: one
schedule per body that has a rule, its id derived from the body, created or updated in place."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError

from domain.council import Council
from domain.errors import Unavailable
from domain.roster import Body
from workflows.meeting import MeetingWorkflow
from workflows.messages import MEETING_ID_PREFIX, MeetingInput

SCHEDULE_ID_PREFIX: Final = "sittings-"
SITTINGS_AHEAD: Final = timedelta(days=800)
"""How far ahead a schedule lists its body's sittings: `concord meetings sync` (and each start
of `concord dev`) moves the window on; run it at least yearly."""
CATCH_UP: Final = timedelta(days=1)
"""A sitting missed while Temporal was down is still held if Temporal is back within a day;
later, it is missed, and the compliance report shows it."""

Outcome = Literal["created", "updated", "unchanged", "removed"]


def schedule_id(body: str) -> str:
    """The id of the schedule of `body`'s sittings."""
    return f"{SCHEDULE_ID_PREFIX}{body.lower()}"


def sittings_from(now: datetime) -> datetime:
    """Where a schedule's list of sittings starts: the start of the previous calendar year, so
    a year just past can be backfilled."""
    return datetime(now.year - 1, 1, 1, tzinfo=UTC)


def sittings_schedule(council: Council, body: Body, task_queue: str, now: datetime) -> Schedule:
    """The schedule that starts a MeetingWorkflow at each of `body`'s sittings; one calendar
    entry per sitting (an RRULE's every rule, exactly), from `sittings_from` to
    `SITTINGS_AHEAD`."""
    assert body.cadence is not None
    sittings = body.cadence.sittings_between(
        council.anchor, sittings_from(now), now + SITTINGS_AHEAD
    )
    return Schedule(
        action=ScheduleActionStartWorkflow(
            MeetingWorkflow.run,
            MeetingInput(body=body.code),
            id=f"{MEETING_ID_PREFIX}{body.code.lower()}",
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(calendars=[_at(s) for s in sittings], time_zone_name="UTC"),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=CATCH_UP),
    )


def _at(sitting: datetime) -> ScheduleCalendarSpec:
    return ScheduleCalendarSpec(
        second=[ScheduleRange(sitting.second)],
        minute=[ScheduleRange(sitting.minute)],
        hour=[ScheduleRange(sitting.hour)],
        day_of_month=[ScheduleRange(sitting.day)],
        month=[ScheduleRange(sitting.month)],
        year=[ScheduleRange(sitting.year)],
    )


@dataclass(frozen=True)
class Synced:
    body: str
    schedule_id: str
    outcome: Outcome
    next_sitting: datetime | None


async def sync_meeting_schedules(
    client: Client, council: Council, task_queue: str, now: datetime | None = None
) -> list[Synced]:
    """Make Temporal's sittings schedules match `council`: one per body with a rule, created if
    missing, updated when its sittings or target differ (paused stays paused); the schedule of a
    body that sits ad hoc, or no longer exists, is removed. Running it again changes nothing."""
    now = now or datetime.now(UTC)
    try:
        return await _sync(client, council, task_queue, now)
    except RPCError as error:
        raise Unavailable(f"Temporal: {error.message}") from None


async def _sync(client: Client, council: Council, task_queue: str, now: datetime) -> list[Synced]:
    done: list[Synced] = []
    wanted_ids: set[str] = set()
    for body in council.bodies:
        if body.cadence is None or body.cadence.rule is None:
            continue
        wanted = sittings_schedule(council, body, task_queue, now)
        sid = schedule_id(body.code)
        wanted_ids.add(sid)
        outcome = await _ensure(client, sid, wanted)
        following = body.cadence.next_sitting(council.anchor, now)
        done.append(Synced(body.code, sid, outcome, following))
    async for listed in await client.list_schedules():
        if listed.id.startswith(SCHEDULE_ID_PREFIX) and listed.id not in wanted_ids:
            await client.get_schedule_handle(listed.id).delete()
            done.append(
                Synced(listed.id.removeprefix(SCHEDULE_ID_PREFIX), listed.id, "removed", None)
            )
    return done


async def _ensure(client: Client, sid: str, wanted: Schedule) -> Outcome:
    try:
        await client.create_schedule(sid, wanted)
        return "created"
    except ScheduleAlreadyRunningError:
        pass
    changed = False

    def updated(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
        nonlocal changed
        existing = current.description.schedule
        if _same(existing, wanted):
            return None
        changed = True
        return ScheduleUpdate(schedule=dataclasses.replace(wanted, state=existing.state))

    await client.get_schedule_handle(sid).update(updated)
    return "updated" if changed else "unchanged"


def _same(existing: Schedule, wanted: Schedule) -> bool:
    action, expected = existing.action, wanted.action
    return (
        isinstance(action, ScheduleActionStartWorkflow)
        and isinstance(expected, ScheduleActionStartWorkflow)
        and (action.workflow, action.task_queue, action.id)
        == (expected.workflow, expected.task_queue, expected.id)
        and _times(existing.spec) == _times(wanted.spec)
        and existing.policy.catchup_window == wanted.policy.catchup_window
    )


def _times(spec: ScheduleSpec) -> list[tuple[int, ...]]:
    return [
        tuple(
            part[0].start for part in (c.year, c.month, c.day_of_month, c.hour, c.minute, c.second)
        )
        for c in spec.calendars
        if c.year and c.month and c.day_of_month and c.hour and c.minute and c.second
    ]
