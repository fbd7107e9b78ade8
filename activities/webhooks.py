"""Webhooks, the channel that tells delegations and the secretariat over HTTP: who each notable
event concerns, the signature a receiver checks, and the delivery itself.

A delivery is a POST of `{"id", "type", "decision_id", "event", "sent_at"}` with the headers
`Concord-Delivery: <id>` (the same on every attempt: a receiver drops what it has seen) and
`Concord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`, as Stripe
signs its webhooks; a 2xx answer is a delivery, anything else is retried (a redirect is not
followed). Each attempt resolves the URL's host once, checks every address it has, and connects
to the one checked (activities.addresses): an address webhooks may not reach fails the delivery
for good, however the name came to point there.
"""

from __future__ import annotations

import asyncio
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

from activities.addresses import (
    AddressPolicy,
    Resolver,
    Target,
    Unresolved,
    resolved_target,
    system_resolver,
)
from domain.errors import Fault, InvalidInput, NotFound
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
from domain.keys import answered_on_behalf
from domain.nrc import NRC_ROSTERS
from domain.roster import RosterBook
from store.councils import Councils
from store.eventstore import EventStore
from store.records import event_id_for
from store.webhook_secrets import WebhookSecrets
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
)
from workflows.webhooks import WebhookDeliveryWorkflow

SIGNATURE_HEADER: Final = "Concord-Signature"
DELIVERY_HEADER: Final = "Concord-Delivery"
CONNECT_TIMEOUT_S: Final = 5.0
TOTAL_TIMEOUT_S: Final = 10.0
"""An attempt's whole exchange (resolution aside): connection, request, answer."""
HTTP_TIMEOUT: Final = httpx.Timeout(TOTAL_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
MAX_ANSWER_BYTES: Final = 4096
"""How much of an answer's body is read (and dropped): an endpoint cannot make the worker read
more, however long its answer."""
REMOVED: Final = "webhook removed"
REFUSED: Final = "refused"
"""How the status of an attempt that may not be made begins."""
SIGNATURE_TOLERANCE_S: Final = 300
"""How old a signature a receiver accepts by default: a replayed request is refused after it."""

log = structlog.get_logger(__name__)


def concerns(event: Event, principal: str, members: Collection[str]) -> bool:
    """Whether a notable `event` concerns `principal`, `members` being the Council's members
    then. Operators are told of every notable event; a member (`member:<code>`) of a round it is
    to answer, its own reminders, every outcome, issue and meeting request, and an answer the
    secretariat recorded in its name unsigned; a body of the reminders it is sent and the report
    it missed as monitoring body. Nothing else concerns a member (a missed review deadline is the
    secretariat's)."""
    role, _, code = principal.partition(":")
    if role == "operator":
        return True
    if role != "member":
        return False
    if answered_on_behalf(event, members) and code == event.actor:
        return True
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
    """A notifier (activities.notify.Notifier) that starts one WebhookDeliveryWorkflow for each
    webhook a notable event concerns. Each delivery's id is derived from the event and the
    webhook, so an event told again finds its deliveries started, or done, and never delivers
    twice; the decision never waits for an endpoint."""

    def __init__(self, client: Client, store: EventStore, task_queue: str) -> None:
        self._client = client
        self._store = store
        self._task_queue = task_queue

    async def send(self, decision_id: str, event: Event) -> None:
        await self.start_deliveries(event_id_for(decision_id, event.stream_version), event)

    async def start_deliveries(self, event_id: str, event: Event) -> int:
        """Start a delivery for each webhook `event` concerns (none twice); how many."""
        webhooks = await self._store.webhooks.in_use()
        if not webhooks:
            return 0
        members = members_at(event.occurred_at, await Councils(self._store).roster_book())
        started = 0
        for webhook in webhooks:
            if not concerns(event, webhook.principal, members):
                continue
            delivery_id = webhook_delivery_id(webhook.webhook_id, event_id)
            await start_once(
                self._client,
                WebhookDeliveryWorkflow.run,
                WebhookDeliveryInput(
                    delivery_id=delivery_id,
                    webhook_id=webhook.webhook_id,
                    event_id=event_id,
                    event=event,
                ),
                delivery_id,
                self._task_queue,
            )
            started += 1
        return started


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
    """Starts the deliveries of an event whose fan-out workflow was started before the log's
    follower started deliveries itself."""

    def __init__(self, deliveries: WebhookNotifier) -> None:
        self._deliveries = deliveries

    @activity.defn(name=FAN_OUT_WEBHOOKS)
    async def fan_out_webhooks(self, input: WebhookFanOutInput) -> WebhookFanOutResult:
        """Start a delivery for each webhook the event concerns (a retry starts none twice)."""
        started = await self._deliveries.start_deliveries(input.event_id, input.event)
        return WebhookFanOutResult(deliveries=started)


class WebhookActivities:
    """Delivers events to webhooks, at addresses `policy` allows as `resolver` finds them, and
    keeps each attempt's outcome in the store. `transport` carries the requests (httpx's own
    by default; tests put a guard in front of it)."""

    def __init__(
        self,
        store: EventStore,
        secrets: WebhookSecrets,
        policy: AddressPolicy | None = None,
        resolver: Resolver = system_resolver,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._policy = policy or AddressPolicy()
        self._resolver = resolver
        self._transport = transport

    @activity.defn(name=DELIVER_WEBHOOK)
    async def deliver_webhook(self, input: WebhookDeliveryInput) -> WebhookDeliveryResult:
        """POST the event, signed, to the webhook: delivered on a 2xx; anything else raises,
        and the attempt is retried. A removed webhook is not called any more; one whose host is
        (or now resolves to) an address webhooks may not reach fails for good, uncalled."""
        attempt = activity.info().attempt
        done = await self._store.webhooks.delivery(input.delivery_id)
        if done is not None and done.delivered_at is not None:
            return WebhookDeliveryResult(delivered=True, status=done.last_status)
        try:
            webhook, secret = await self._store.webhooks.signing(input.webhook_id, self._secrets)
        except NotFound:
            webhook = None
        except Fault as unreadable:
            await self._record(input, attempt, unreadable.message, delivered=False)
            raise ApplicationError(unreadable.message) from None
        if webhook is None or webhook.disabled_at is not None:
            await self._record(input, attempt, REMOVED, delivered=False)
            return WebhookDeliveryResult(delivered=False, status=REMOVED)
        try:
            target = await resolved_target(webhook.url, self._policy, self._resolver)
        except InvalidInput as error:  # Unresolved: retried; AddressRefused, a bad URL: not
            retried = isinstance(error, Unresolved)
            status = error.reason if retried else f"{REFUSED}: {error.reason}; not retried"
            await self._record(input, attempt, status, delivered=False)
            raise ApplicationError(
                status, type=type(error).__name__, non_retryable=not retried
            ) from None
        sent_at = datetime.now(UTC)
        body = payload(input, sent_at)
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: input.delivery_id,
            SIGNATURE_HEADER: signature(secret, body, int(sent_at.timestamp())),
        }
        try:
            answered = await self._post(target, body, headers)
        except (httpx.HTTPError, TimeoutError) as error:
            if isinstance(error, TimeoutError):
                status = f"no whole answer within {TOTAL_TIMEOUT_S:g} s"
            else:
                status = type(error).__name__ + (f": {error}" if str(error) else "")
            await self._record(input, attempt, status, delivered=False)
            raise ApplicationError(f"no answer from the webhook ({status})") from None
        delivered = 200 <= answered < 300
        status = str(answered)
        if 300 <= answered < 400:
            status += " (a redirect: not followed)"
        await self._record(input, attempt, status, delivered=delivered)
        if not delivered:
            raise ApplicationError(f"the webhook answered {status}")
        return WebhookDeliveryResult(delivered=True, status=status)

    async def _post(self, target: Target, body: bytes, headers: dict[str, str]) -> int:
        """POST `body` to the address checked, naming the URL's host; the answer's status, at
        most MAX_ANSWER_BYTES of its body read. Redirects are not followed, nor proxies taken
        from the environment."""
        async with (
            asyncio.timeout(TOTAL_TIMEOUT_S),
            httpx.AsyncClient(
                timeout=HTTP_TIMEOUT,
                follow_redirects=False,
                trust_env=False,
                transport=self._transport,
            ) as http,
        ):
            request = http.build_request(
                "POST",
                target.request_url,
                content=body,
                headers={**headers, "Host": target.host_header, "Accept-Encoding": "identity"},
                extensions=target.extensions,
            )
            response = await http.send(request, stream=True)
            try:
                read = 0
                async for chunk in response.aiter_raw():
                    read += len(chunk)
                    if read >= MAX_ANSWER_BYTES:
                        break
            finally:
                await response.aclose()
            return response.status_code

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
        await self._store.webhooks.record_attempt(
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
