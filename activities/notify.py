"""Notifications of what members and operators must know: structured log events by default."""

from __future__ import annotations

from typing import Protocol

import structlog
from temporalio import activity

from domain.events import Event
from workflows.messages import NOTIFY, NotifyInput, NotifyResult


class Notifier(Protocol):
    """A channel that tells people what happened: log, e-mail, chat; one method to implement."""

    async def send(self, decision_id: str, event: Event) -> None: ...


class LogNotifier:
    """Writes each notification as a structured log event."""

    def __init__(self) -> None:
        self._log = structlog.get_logger("concord.notifications")

    async def send(self, decision_id: str, event: Event) -> None:
        recipients = getattr(event, "recipients", None) or getattr(event, "members", None)
        self._log.info(
            "notification",
            decision_id=decision_id,
            event_type=event.type,
            stream_version=event.stream_version,
            actor=event.actor,
            recipients=list(recipients) if recipients else "all members",
        )


class NotifyActivities:
    def __init__(self, notifier: Notifier) -> None:
        self._notifier = notifier

    @activity.defn(name=NOTIFY)
    async def notify(self, input: NotifyInput) -> NotifyResult:
        for event in input.events:
            await self._notifier.send(input.decision_id, event)
        return NotifyResult(sent=len(input.events))
