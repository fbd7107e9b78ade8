"""The procedure's clock inside a decision's workflow: which of the domain's due commands are
still to be given, and the wait for the next of them (or for work) as one timer that runs
across waits. Workflow code: the only clock is `workflow.now()`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.clock import DueCommand, due_commands
    from domain.state import DecisionState

IDLE_WAKE: Final = timedelta(days=30)
"""With no deadline pending the loop still wakes this often; one timer shape for every wait."""


class Clock:
    """The due commands a decision's workflow gives itself, and its wait for the next one."""

    def __init__(self, steady_alarm: bool, rings_early: bool = False) -> None:
        self._steady_alarm = steady_alarm
        """One timer across waits (the `steady-alarm` patch); before it, a timer per wait."""
        self._rings_early = rings_early
        """The alarm is kept while it rings no later than the next deadline (the
        `alarm-rings-early` patch); before it, it was replaced whenever the deadline moved."""
        self._skipped: set[str] = set()
        self._alarm: asyncio.Task[None] | None = None
        self._alarm_at: datetime | None = None
        self._rings_at: datetime | None = None
        """When the alarm rings: its deadline, or its idle wake."""

    def due(self, state: DecisionState) -> list[DueCommand]:
        """The state's due commands, soonest first, less those skipped."""
        return [d for d in due_commands(state) if d.model_dump_json() not in self._skipped]

    def skip(self, due: DueCommand) -> None:
        """Never give this due command again (the domain refused its own clock's command)."""
        self._skipped.add(due.model_dump_json())

    async def wait(self, state: DecisionState, ready: Callable[[], bool]) -> None:
        """Until the next due command falls due, or `ready()` (work came in)."""
        due = self.due(state)
        if self._steady_alarm:
            await self._wait_with_alarm(due[0].at if due else None, ready)
            return
        timeout = (due[0].at - workflow.now()) if due else IDLE_WAKE
        if timeout <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(ready, timeout=timeout)

    async def _wait_with_alarm(self, at: datetime | None, ready: Callable[[], bool]) -> None:
        """Wait for work, or for the alarm of the next deadline (`at`; an idle wake when None):
        the alarm runs across waits, replaced only when a sooner one is needed (or, on the old
        branch, whenever the deadline moves)."""
        now = workflow.now()
        if at is not None and at <= now:
            return
        if self._rings_early:
            self._keep_an_alarm_ringing_by(at if at is not None else now + IDLE_WAKE, now)
        else:
            self._replace_the_alarm_when_moved(at, now)
        alarm = self._alarm
        assert alarm is not None
        await workflow.wait_condition(lambda: ready() or alarm.done())
        if alarm.done():
            self._alarm, self._alarm_at, self._rings_at = None, None, None

    def _keep_an_alarm_ringing_by(self, wake: datetime, now: datetime) -> None:
        """An alarm that rings by `wake` is kept: one that rings sooner wakes the loop early,
        which finds nothing due and sets the next alarm then. A later deadline (a round
        extended, a stage with a longer one) so costs no timer cancelled and started; only a
        sooner one replaces the alarm."""
        if self._alarm is not None and self._rings_at is not None and self._rings_at <= wake:
            return
        if self._alarm is not None:
            self._alarm.cancel()
        self._alarm = asyncio.create_task(asyncio.sleep((wake - now).total_seconds()))
        self._rings_at = wake

    def _replace_the_alarm_when_moved(self, at: datetime | None, now: datetime) -> None:
        """The old branch: the alarm is replaced whenever the next deadline moves."""
        idle_wake_running = at is None and self._alarm is not None and self._alarm_at is None
        if not idle_wake_running and (self._alarm is None or at != self._alarm_at):
            if self._alarm is not None:
                self._alarm.cancel()
            wake = at if at is not None else now + IDLE_WAKE
            self._alarm = asyncio.create_task(asyncio.sleep((wake - now).total_seconds()))
            self._alarm_at = at
