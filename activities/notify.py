"""Notifications of what members and operators must know, told by a follower of the log: each
notable event once it is stored, in log order, to every channel (a structured log event by
default, webhooks, the extraordinary sittings requests call)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Final, Protocol

import structlog
from pydantic import ValidationError
from temporalio import activity

from domain.declarations import SIGNED_BY_EVENT
from domain.errors import InvalidHistory
from domain.events import Event
from domain.keys import answered_on_behalf
from domain.values import principal_role
from store.councils import Councils
from store.decision_events import domain_event
from store.eventstore import EventStore
from store.records import StoredEvent
from workflows.decision import NOTIFIED
from workflows.messages import NOTIFY, NotifyInput, NotifyResult

NOTIFICATIONS: Final = "notifications"
"""The follower's name, the key of its position in the log (a migration starts an upgraded
installation's at the end of its log)."""
ANSWERS: Final = frozenset(SIGNED_BY_EVENT)
"""Answers: notable when the secretariat recorded one in a member's name without its signature."""

log = structlog.get_logger("concord.notifications")


class Notifier(Protocol):
    """A channel that tells people what happened: log, e-mail, chat; one method to implement.
    An event may be sent again (after a failure, or by a follower that took over): a channel
    that must act once names what it starts after the event."""

    async def send(self, decision_id: str, event: Event) -> None: ...


class LogNotifier:
    """Writes each notification as a structured log event."""

    async def send(self, decision_id: str, event: Event) -> None:
        recipients = getattr(event, "recipients", None) or getattr(event, "members", None)
        if event.type not in NOTIFIED:  # an answer recorded in a member's name: told to it
            recipients = (event.actor,)
        log.info(
            "notification",
            decision_id=decision_id,
            event_type=event.type,
            stream_version=event.stream_version,
            actor=event.actor,
            recipients=list(recipients) if recipients else "all members",
        )


async def tell(channels: Sequence[Notifier], decision_id: str, event: Event) -> None:
    """Give `event` to every channel; when any failed, raise the first failure once each has
    been given it."""
    failures: list[Exception] = []
    for channel in channels:
        try:
            await channel.send(decision_id, event)
        except Exception as failure:
            failures.append(failure)
    if failures:
        raise failures[0]


def notable(event: Event, members: Collection[str]) -> bool:
    """Whether people are told of `event`: a notable kind, or a member's answer that the
    secretariat recorded in its name without its signature (`members`: the council's)."""
    return event.type in NOTIFIED or answered_on_behalf(event, members)


class Notifications:
    """Tells every channel of each notable event of the log, from its own position in the log,
    in log order: a Keeper (store.projections) that the projector runs under its lease, so one
    process tells at a time. The position moves past an event only once every channel has
    taken it; an event is told again only when a channel failed (or the process died) before
    the position moved, and the channels that act (webhooks, sittings) start what they start
    under ids derived from the event, never twice."""

    name = NOTIFICATIONS
    tables: Final = ()
    """It owns no table: a rebuild would tell every event again."""

    def __init__(self, *channels: Notifier) -> None:
        self._channels = channels

    async def keep_up(self, store: EventStore, batch_size: int) -> int:
        told = 0
        while True:
            after = await store.projections.position(NOTIFICATIONS)
            head, _ = await store.head()
            if head <= after:
                return told
            found = await store.events_between(after, head, NOTIFIED | ANSWERS, batch_size)
            through = found[-1].position if len(found) == batch_size else head
            # Only the secretariat's answers can be notable, and only those are read whole.
            candidates = [e for e in found if e.type in NOTIFIED or _by_operator(e)]
            members = await _members(store) if any(e.type in ANSWERS for e in candidates) else ()
            reached = after
            try:
                for stored in candidates:
                    event = _readable(stored)
                    if event is not None and notable(event, members):
                        await tell(self._channels, stored.decision_id, event)
                        told += 1
                    reached = stored.position
            except Exception:
                if reached > after:  # what was told is not told again
                    await store.projections.advance(NOTIFICATIONS, after, reached, [])
                raise
            await store.projections.advance(NOTIFICATIONS, after, through, [])


def _by_operator(stored: StoredEvent) -> bool:
    return principal_role(stored.recorded_by) == "operator"


async def _members(store: EventStore) -> frozenset[str]:
    """Everyone who sits, or sat, on the council's rosters."""
    book = await Councils(store).roster_book()
    return frozenset(m for roster in book.rosters for m in roster.member_codes)


def _readable(stored: StoredEvent) -> Event | None:
    """The decision's event the row holds; None, logged, for one that cannot be read (the read
    models park its decision, and `concord doctor` shows it)."""
    try:
        return domain_event(stored)
    except (InvalidHistory, ValidationError) as unreadable:
        log.error(
            "notification not sent: the event cannot be read",
            decision_id=stored.decision_id,
            position=stored.position,
            error=str(unreadable),
        )
        return None


class NotifyActivities:
    """Tells every channel of each notable event of a batch: the activity that runs of decisions
    started before the log's follower told people call, until they end or continue as new."""

    def __init__(self, *channels: Notifier) -> None:
        self._channels = channels

    @activity.defn(name=NOTIFY)
    async def notify(self, input: NotifyInput) -> NotifyResult:
        """Every channel is given every event; a channel that failed then fails the attempt,
        which is retried (what the channels started is not started again)."""
        failures: list[Exception] = []
        for event in input.events:
            try:
                await tell(self._channels, input.decision_id, event)
            except Exception as failure:
                failures.append(failure)
        if failures:
            raise failures[0]
        return NotifyResult(sent=len(input.events))
