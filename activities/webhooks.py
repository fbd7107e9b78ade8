"""Webhooks, the channel that tells delegations and the secretariat over HTTP: who each notable
event concerns, the signature a receiver checks, and the delivery itself.

A delivery is a POST of `{"id", "type", "decision_id", "event", "sent_at"}` with the headers
`Concord-Delivery: <id>` (the same on every attempt: a receiver drops what it has seen) and
`Concord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`, as Stripe
signs its webhooks; a 2xx answer is a delivery, anything else is retried.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import structlog
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from domain.errors import NotFound
from domain.events import (
    ConsensusFailed,
    ConsensusRoundOpened,
    DecisionAdopted,
    DecisionLapsed,
    Event,
    ExtraordinaryMeetingRequested,
    ImplementationIssueRaised,
    ImplementationIssueResolved,
    IssueResolutionProposed,
    RemindersSent,
    ReportDeadlineMissed,
)
from domain.nrc import NRC_ROSTERS
from domain.roster import RosterBook
from store.councils import Councils
from store.eventstore import EventStore
from store.records import event_id_for
from store.webhooks import DeliveryAttempt
from workflows.messages import (
    DELIVER_WEBHOOK,
    FAN_OUT_WEBHOOKS,
    Message,
    WebhookDeliveryInput,
    WebhookDeliveryResult,
    WebhookFanOutInput,
    WebhookFanOutResult,
    webhook_delivery_id,
    webhook_fan_out_id,
)
from workflows.webhooks import WebhookDeliveryWorkflow, WebhookFanOutWorkflow

SIGNATURE_HEADER: Final = "Concord-Signature"
DELIVERY_HEADER: Final = "Concord-Delivery"
HTTP_TIMEOUT: Final = httpx.Timeout(10.0)
REMOVED: Final = "webhook removed"
SIGNATURE_TOLERANCE_S: Final = 300
"""How old a signature a receiver accepts by default: a replayed request is refused after it."""

log = structlog.get_logger(__name__)


def concerns(event: Event, principal: str, members: Collection[str]) -> bool:
    """Whether a notable `event` concerns `principal`, `members` being the Council's members
    then. Operators are told of every notable event; a member (`member:<code>`) of a round it is
    to answer, its own reminders and every outcome, issue and meeting request; a body of the
    reminders it is sent and the report it missed as monitoring body. Nothing else concerns a
    member (a missed review deadline is the secretariat's)."""
    role, _, code = principal.partition(":")
    if role == "operator":
        return True
    if role != "member":
        return False
    match event:
        case ConsensusRoundOpened() | IssueResolutionProposed():
            return code in event.members
        case RemindersSent():
            return code in event.recipients
        case ReportDeadlineMissed():
            return code == event.monitoring_body
        case (
            ConsensusFailed()
            | DecisionAdopted()
            | DecisionLapsed()
            | ImplementationIssueRaised()
            | ImplementationIssueResolved()
            | ExtraordinaryMeetingRequested()
        ):
            return code in members
    return False


def members_at(instant: datetime, rosters: RosterBook = NRC_ROSTERS) -> tuple[str, ...]:
    """The council's members at `instant` (the first roster's before it took effect)."""
    try:
        return rosters.snapshot_at(instant).member_codes
    except NotFound:
        return rosters.rosters[0].member_codes


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The `Concord-Signature` of `body` sent at `timestamp` (unix seconds)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def signature_holds(
    secret: str,
    header: str,
    body: bytes,
    now: int,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
) -> bool:
    """What a receiver checks: `header` signs exactly `body` with `secret`, and is at most
    `tolerance_s` seconds old at `now` (unix seconds)."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    stamps = fields.get("t", [])
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = signature(secret, body, timestamp).rpartition("v1=")[2]
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))


def payload(input: WebhookDeliveryInput, sent_at: datetime) -> bytes:
    """The JSON body of a delivery, compact, as it is signed and sent."""
    document: dict[str, Any] = {
        "id": input.delivery_id,
        "type": input.event.type,
        "decision_id": input.event.decision_id,
        "event": input.event.model_dump(mode="json"),
        "sent_at": sent_at.isoformat(),
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


class WebhookNotifier:
    """A notifier (activities.notify.Notifier) that starts one WebhookFanOutWorkflow per
    notable event, which starts one WebhookDeliveryWorkflow per webhook the event concerns.
    Starting takes Temporal alone (no store), so the decision never waits for an endpoint nor
    for the store; each workflow's id is derived from the event (and the webhook), so a
    notification sent again (a retried activity) finds it started, or done, and never delivers
    twice."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue

    async def send(self, decision_id: str, event: Event) -> None:
        event_id = event_id_for(decision_id, event.stream_version)
        await start_once(
            self._client,
            WebhookFanOutWorkflow.run,
            WebhookFanOutInput(decision_id=decision_id, event_id=event_id, event=event),
            webhook_fan_out_id(event_id),
            self._task_queue,
        )


async def start_once(
    client: Client, run: Any, input: Message, workflow_id: str, task_queue: str
) -> None:
    """Start the workflow unless a workflow of that id was ever started: never twice."""
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            run,
            input,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )


class FanOutActivities:
    """Finds the webhooks an event concerns and starts their deliveries."""

    def __init__(self, client: Client, store: EventStore, task_queue: str) -> None:
        self._client = client
        self._store = store
        self._task_queue = task_queue

    @activity.defn(name=FAN_OUT_WEBHOOKS)
    async def fan_out_webhooks(self, input: WebhookFanOutInput) -> WebhookFanOutResult:
        """Start a delivery for each webhook the event concerns (a retry starts none twice)."""
        event = input.event
        members = members_at(event.occurred_at, await Councils(self._store).roster_book())
        started = 0
        for webhook in await self._store.webhooks():
            if not concerns(event, webhook.principal, members):
                continue
            delivery_id = webhook_delivery_id(webhook.webhook_id, input.event_id)
            await start_once(
                self._client,
                WebhookDeliveryWorkflow.run,
                WebhookDeliveryInput(
                    delivery_id=delivery_id,
                    webhook_id=webhook.webhook_id,
                    event_id=input.event_id,
                    event=event,
                ),
                delivery_id,
                self._task_queue,
            )
            started += 1
        return WebhookFanOutResult(deliveries=started)


class WebhookActivities:
    """Delivers events to webhooks and keeps each attempt's outcome in the store."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name=DELIVER_WEBHOOK)
    async def deliver_webhook(self, input: WebhookDeliveryInput) -> WebhookDeliveryResult:
        """POST the event, signed, to the webhook: delivered on a 2xx; anything else raises,
        and the attempt is retried. A removed webhook is not called any more."""
        attempt = activity.info().attempt
        done = await self._store.delivery(input.delivery_id)
        if done is not None and done.delivered_at is not None:
            return WebhookDeliveryResult(delivered=True, status=done.last_status)
        try:
            webhook, secret = await self._store.signing_webhook(input.webhook_id)
        except NotFound:
            webhook = None
        if webhook is None or webhook.disabled_at is not None:
            await self._record(input, attempt, REMOVED, delivered=False)
            return WebhookDeliveryResult(delivered=False, status=REMOVED)
        sent_at = datetime.now(UTC)
        body = payload(input, sent_at)
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: input.delivery_id,
            SIGNATURE_HEADER: signature(secret, body, int(sent_at.timestamp())),
        }
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
                response = await http.post(webhook.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            status = type(error).__name__ + (f": {error}" if str(error) else "")
            await self._record(input, attempt, status, delivered=False)
            raise ApplicationError(f"no answer from the webhook ({status})") from None
        status = str(response.status_code)
        await self._record(input, attempt, status, delivered=response.is_success)
        if not response.is_success:
            raise ApplicationError(f"the webhook answered {status}")
        return WebhookDeliveryResult(delivered=True, status=status)

    async def _record(
        self, input: WebhookDeliveryInput, attempt: int, status: str, delivered: bool
    ) -> None:
        log.info(
            "webhook attempt",
            delivery_id=input.delivery_id,
            decision_id=input.event.decision_id,
            attempt=attempt,
            status=status,
        )
        await self._store.record_delivery_attempt(
            DeliveryAttempt(
                delivery_id=input.delivery_id,
                webhook_id=input.webhook_id,
                event_id=input.event_id,
                decision_id=input.event.decision_id,
                event_type=input.event.type,
                attempt=attempt,
                status=status,
                delivered=delivered,
            )
        )
