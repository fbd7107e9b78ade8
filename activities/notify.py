"""Notifications of what members and operators must know: structured log events by default."""

from __future__ import annotations

from typing import Protocol

import structlog
from temporalio import activity

from domain.events import Event
from workflows.decision import NOTIFIED
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
        if event.type not in NOTIFIED:  # an answer recorded in a member's name: told to it
            recipients = (event.actor,)
        self._log.info(
            "notification",
            decision_id=decision_id,
            event_type=event.type,
            stream_version=event.stream_version,
            actor=event.actor,
            recipients=list(recipients) if recipients else "all members",
        )


class NotifyActivities:
    """Tells every channel (the log, webhooks, ...) of each notable event of a batch."""

    def __init__(self, *channels: Notifier) -> None:
        self._channels = channels

    @activity.defn(name=NOTIFY)
    async def notify(self, input: NotifyInput) -> NotifyResult:
        """Every channel is given every event; a channel that failed then fails the attempt,
        which is retried (webhook deliveries already started are not started again)."""
        failures: list[Exception] = []
        for event in input.events:
            for channel in self._channels:
                try:
                    await channel.send(input.decision_id, event)
                except Exception as failure:
                    failures.append(failure)
        if failures:
            raise failures[0]
        return NotifyResult(sent=len(input.events))
