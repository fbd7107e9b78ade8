"""The inputs and results of Concord's workflows, their updates, queries and activities."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.agenda import AgendaItem
from domain.areas import LevelCode
from domain.commands import (
    Command,
    CommandBase,
    RecordSupersession,
    ScheduleAgendaItem,
    SubmitProposal,
    SupersedeDecision,
)
from domain.events import Event
from domain.roster import RosterBook
from domain.state import DecisionState

APPEND_EVENTS: Final = "concord.append_events"
ARCHIVE_HISTORY: Final = "concord.archive_history"
ARCHIVE_HEARTBEAT: Final = timedelta(seconds=1)
ARCHIVE_HEARTBEAT_TIMEOUT: Final = timedelta(seconds=5)
"""An archive of a run's history heartbeats every ARCHIVE_HEARTBEAT while it works: a worker
lost meanwhile is noticed within the timeout, and the archive tried again on another worker,
instead of after the attempt's whole start-to-close timeout (two minutes)."""
AMENDED_2026_12_06: Final = "amended-2026-12-06"
"""Patch: the practice's amendments of 2026-12-06 (domain.checks.Practice), in the decision's
workflow and in a supersession's check of its successor."""
COUNCIL_RULES: Final = "council-rules"
"""Patch: the council's own rules in the decision's workflow (domain.checks.Practice)."""
NOTIFY: Final = "concord.notify"
READ_DECISION: Final = "concord.read_decision"
DELIVER_COMMAND: Final = "concord.deliver_command"

MAX_EVENTS_PER_RUN: Final = 1_000
"""A run continues as new after this many events, well before Temporal's history limits."""
MAX_UPDATES_PER_RUN: Final = 500
"""A run continues as new after this many updates (Temporal refuses a run's 2,001st): its
history stays near 1,400 events, which a worker that does not hold the decision replays for
each query and for the first command after it took the decision over (about 4,100 events and
90 ms a query at 1,500 updates, measured by benchmarks/long_lives.py)."""
RECEIPTS_KEPT: Final = 1_000
"""How many recent receipts cross a continue-as-new, so late retries still find theirs."""


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


WORKFLOW_ID_PREFIX: Final = "decision-"


def workflow_id(decision_id: str) -> str:
    """The Temporal workflow id of a decision: one workflow per decision, for its whole life."""
    return f"{WORKFLOW_ID_PREFIX}{decision_id}"


SUPERSESSION_ID_PREFIX: Final = "supersession-"


def supersession_id(key: str, command: SupersedeDecision) -> str:
    """The workflow id of one supersession, asked for with `key`: the same request retried
    finds its workflow (and its result); another request, or the key given again for another
    command, gets its own (whose decision then refuses the reused key)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{SUPERSESSION_ID_PREFIX}{command.decision_id}-{digest}-{command_digest(command)[:16]}"


def command_digest(command: CommandBase) -> str:
    """What identifies a command behind its idempotency key: the SHA-256 of its JSON, without
    a signature (the same answer signed again, as a resend re-signs it, is the same command;
    and a command's digest is what it was before answers were signed)."""
    return hashlib.sha256(command.model_dump_json(exclude={"signature"}).encode()).hexdigest()


def update_id(key: str, command: CommandBase) -> str:
    """The Temporal update id of a command: its key and its digest. Temporal answers an update
    id it has seen with the first answer, unasked: a key reused for another command must reach
    the workflow, which refuses it, instead of being answered with the first command's receipt.
    """
    return f"{key}#{command_digest(command)[:16]}"


class Receipt(Message):
    """Proof that a command was accepted: the events it produced, as stored in the log."""

    decision_id: str
    idempotency_key: str
    event_ids: tuple[str, ...]
    event_types: tuple[str, ...]
    stream_version: int
    hashes: tuple[str, ...]
    command_digest: str = ""
    """The digest of the command the key was given for ("" in receipts from before it was kept)."""


class DecisionInput(Message):
    """Starts a decision (with its proposal) or carries it across a continue-as-new."""

    decision_id: str
    proposal: SubmitProposal | None = None
    proposal_key: str = ""
    state: DecisionState | None = None
    receipts: tuple[Receipt, ...] = ()
    previous_run_id: str | None = None
    run_number: int = 1
    max_events_per_run: int = Field(default=MAX_EVENTS_PER_RUN, ge=10)
    max_updates_per_run: int = Field(default=MAX_UPDATES_PER_RUN, ge=10, le=1_900)
    search_attributes: bool = True
    rosters: RosterBook | None = None
    """The council's roster versions the decision is decided with; the NRC's when None (as
    every decision started before councils were data)."""


class DecisionResult(Message):
    decision_id: str
    status: str
    stream_version: int
    runs: int
    archived: bool = True
    """False when the decision's previous run's history could not be archived (`concord doctor`
    finds and repairs it). The run it closes in is archived once closed, by the log's follower
    (activities.archivist); before that follower, by the run itself, counted here too."""


class CommandInput(Message):
    """One command for a decision, with the key that makes repeating it a no-op."""

    command: Command
    idempotency_key: str = Field(min_length=1, max_length=200)


class StatusInput(Message):
    pass


class StatusResult(Message):
    state: DecisionState | None
    stored_version: int
    run_number: int
    old_branches: tuple[str, ...] = ()
    """The patches whose old branch the run takes (workflows.code); none once it continued as
    new since them."""


class PendingInput(Message):
    member: str


class PendingRound(Message):
    round: int
    subject: str
    text_hash: str
    deadline: str


class PendingResult(Message):
    decision_id: str
    member: str
    rounds: tuple[PendingRound, ...]


class StoredCommand(Message):
    """The stream versions one accepted command's events hold."""

    idempotency_key: str
    first_version: int
    last_version: int
    command_digest: str


class AppendInput(Message):
    decision_id: str
    expected_version: int
    events: tuple[Event, ...]
    commands: tuple[StoredCommand, ...] = ()
    """The commands the batch's events come from (clock's commands have no key: not listed)."""
    adopt: bool = False
    """Stored by a local activity, within the task that decided the batch: a failed earlier
    attempt of that task may have stored a batch decided then; if so it is adopted."""


class StoredRef(Message):
    event_id: str
    stream_version: int
    position: int
    hash: str


class AppendResult(Message):
    events: tuple[StoredRef, ...]
    adopted: tuple[Event, ...] = ()
    """When the stream already held other events past the expected version (stored by an
    attempt of the deciding task that failed after storing them): all of them, in order, which
    the decision takes on instead of its batch; `events` are then their references."""
    commands: tuple[StoredCommand, ...] = ()
    """The commands the adopted events came from."""


class ArchiveInput(Message):
    decision_id: str
    workflow_id: str
    run_id: str


class ArchiveResult(Message):
    archived: bool
    event_count: int


class NotifyInput(Message):
    decision_id: str
    events: tuple[Event, ...]


class NotifyResult(Message):
    sent: int


class ReadDecisionInput(Message):
    decision_id: str


class ReadDecisionResult(Message):
    """A decision's state folded from its stream in the log; None when it has no events."""

    state: DecisionState | None


class DeliverInput(Message):
    """A command for a decision whose workflow may have closed: a new run is started from the
    decision's log to take it (a completed decision can still be superseded)."""

    command: SupersedeDecision | RecordSupersession
    idempotency_key: str = Field(min_length=1, max_length=200)
    search_attributes: bool = True


class SupersessionInput(Message):
    command: SupersedeDecision
    idempotency_key: str = Field(min_length=1, max_length=200)
    search_attributes: bool = True


class SupersessionResult(Message):
    """Both sides of a supersession, as stored: the superseded decision's and the successor's."""

    superseded: Receipt
    successor: Receipt


DELIVER_WEBHOOK: Final = "concord.deliver_webhook"
FAN_OUT_WEBHOOKS: Final = "concord.fan_out_webhooks"
WEBHOOK_DELIVERY_PREFIX: Final = "webhook-"


def webhook_delivery_id(webhook_id: str, event_id: str) -> str:
    """The id of an event's delivery to a webhook, and of the workflow that delivers it: one
    per (webhook, event), so a notification sent again never delivers twice."""
    return f"{WEBHOOK_DELIVERY_PREFIX}{webhook_id}-{event_id}"


class WebhookDeliveryInput(Message):
    """One notable event for one webhook (its URL and secret are read from the store at each
    attempt: a secret never enters a workflow's history)."""

    delivery_id: str
    webhook_id: str
    event_id: str
    event: Event


class WebhookDeliveryResult(Message):
    delivered: bool
    status: str
    """The last attempt's outcome: the HTTP status answered, or why there was none."""


class WebhookFanOutInput(Message):
    """A notable event whose webhooks are still to be found and their deliveries started."""

    decision_id: str
    event_id: str
    event: Event


class WebhookFanOutResult(Message):
    deliveries: int
    """How many deliveries the event concerned (started now, or earlier)."""


PUBLISH_CHECKPOINT: Final = "concord.publish_checkpoint"
CHECKPOINT_SCHEDULE_ID: Final = "concord-checkpoints"
"""The one schedule that publishes the log's checkpoints, whatever the task queue."""
CHECKPOINT_WORKFLOW_ID: Final = "concord-checkpoint"
"""The id of the scheduled runs (Temporal appends the time each is started)."""


class CheckpointInput(Message):
    """A run of the checkpoint publisher: it needs nothing but the log as it stands."""


class CheckpointResult(Message):
    outcome: Literal["kept", "unchanged", "no_key"]
    """`kept`: a checkpoint of a larger tree was signed and kept; `unchanged`: the tree has
    not grown since the latest kept one; `no_key`: there is no signing key to sign with."""
    size: int = 0
    root: str = ""
    """The tree's size and root hash (hex) as the run found it; 0 and "" without a key."""


CONVENE_SITTING: Final = "concord.convene_sitting"
PLAN_EXTRAORDINARY_SITTING: Final = "concord.plan_extraordinary_sitting"
SCHEDULE_AGENDA_ITEM: Final = "concord.schedule_agenda_item"
MEETING_ID_PREFIX: Final = "meeting-"
"""Sittings' workflow ids: `meeting-<body>` for a schedule's (Temporal appends the sitting's
time), `meeting-x-<decision>-<version>` for the sitting an extraordinary request calls."""


def extraordinary_meeting_id(decision_id: str, stream_version: int) -> str:
    return f"{MEETING_ID_PREFIX}x-{decision_id}-{stream_version}"


class ExtraordinaryRequest(Message):
    """A request for an extraordinary meeting, as its decision recorded it."""

    decision_id: str
    stream_version: int
    level: LevelCode
    requested_by: str
    requested_at: datetime


class MeetingInput(Message):
    """A sitting of one body: a regular one (its schedule starts it at the sitting's instant) or
    an extraordinary one (started when a member or the chair asks for it)."""

    body: str = ""
    """The sitting body's code; an extraordinary request names its level instead."""
    sitting_at: datetime | None = None
    """When it sits; a scheduled sitting's instant is the schedule's when None."""
    request: ExtraordinaryRequest | None = None


class ExtraordinaryPlan(Message):
    """Which body sits for an extraordinary request, and when; no sitting when a regular one of
    that body comes within the delay (its agenda carries the request)."""

    body: str
    sitting_at: datetime | None
    regular_at: datetime | None = None


class ConveneInput(Message):
    body: str
    sitting_at: datetime
    request: ExtraordinaryRequest | None = None


class ConveneResult(Message):
    """The sitting as its meeting's stream records it."""

    meeting_id: str
    agenda: tuple[AgendaItem, ...]


class ScheduleItemInput(Message):
    command: ScheduleAgendaItem
    idempotency_key: str


class ScheduleItemResult(Message):
    scheduled: bool
    refused: str = ""
    """Why the decision refused the item (closed since, say): the sitting goes on without it."""


class MeetingResult(Message):
    meeting_id: str | None
    agenda: tuple[AgendaItem, ...] = ()
    scheduled: int = 0
    refused: tuple[str, ...] = ()
