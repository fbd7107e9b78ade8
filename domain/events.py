"""Domain events: immutable facts in the past tense, one discriminated union, and their envelope."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Final, Literal, TypedDict

from pydantic import AwareDatetime, Field, TypeAdapter

from domain.areas import AreaCode, LevelCode
from domain.statements import AnswerSignature
from domain.values import (
    ActionItem,
    ActorCode,
    AgendaItemKind,
    DeadlineTarget,
    DecisionId,
    Frozen,
    ItemId,
    Principal,
    ReviewOutcome,
    RoundCloser,
    RoundOutcome,
    Seconds,
    Text,
    TextHash,
    Title,
)


class Envelope(TypedDict):
    """EventBase's fields as a typed mapping: a rule spreads one into an event's constructor."""

    decision_id: str
    stream_version: int
    occurred_at: datetime
    actor: str
    recorded_by: str


ENVELOPE_FIELDS: Final = frozenset({"type", *Envelope.__required_keys__})


class EventBase(Frozen):
    """The envelope every event carries: whose stream, which version, when, for whom, by whom."""

    added_fields: ClassVar[frozenset[str]] = frozenset()
    """Fields added after events of the type were first stored: left out of the stored payload
    while None, so the events stored before them replay to the same bytes."""

    decision_id: DecisionId
    stream_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    actor: ActorCode
    recorded_by: Principal


SIGNED: Final = frozenset({"signature"})
"""A member's answer records the signature its key gave it (domain.statements), if any."""


class ProposalSubmitted(EventBase):
    type: Literal["ProposalSubmitted"] = "ProposalSubmitted"
    title: Title
    text: Text
    text_hash: TextHash
    area: AreaCode
    area_label: str | None = None
    body: str
    level: LevelCode | None
    proposer: ActorCode
    roster_version: int
    plan_draft: tuple[ActionItem, ...] = ()
    max_failed_rounds: int
    review_period_seconds: Seconds
    roster_on: date | None = None

    added_fields = frozenset({"roster_on"})


class ReferredToPreparatoryCommittee(EventBase):
    type: Literal["ReferredToPreparatoryCommittee"] = "ReferredToPreparatoryCommittee"
    committee: str
    review_deadline: AwareDatetime


class ProposalAmended(EventBase):
    type: Literal["ProposalAmended"] = "ProposalAmended"
    revision: int
    text: Text
    text_hash: TextHash
    note: str = ""


class ReviewCompleted(EventBase):
    type: Literal["ReviewCompleted"] = "ReviewCompleted"
    outcome: ReviewOutcome
    revision: int
    text_hash: TextHash


class ReturnedToProposer(EventBase):
    type: Literal["ReturnedToProposer"] = "ReturnedToProposer"
    reasons: str


class ReviewDeadlineMissed(EventBase):
    type: Literal["ReviewDeadlineMissed"] = "ReviewDeadlineMissed"
    review_deadline: AwareDatetime


class ConsensusRoundOpened(EventBase):
    type: Literal["ConsensusRoundOpened"] = "ConsensusRoundOpened"
    round: int
    revision: int
    text_hash: TextHash
    roster_version: int
    members: tuple[str, ...]
    deadline: AwareDatetime
    reminder_at: AwareDatetime | None = None


class ConcurrenceRecorded(EventBase):
    added_fields = SIGNED
    type: Literal["ConcurrenceRecorded"] = "ConcurrenceRecorded"
    round: int
    member: str
    text_hash: TextHash
    signature: AnswerSignature | None = None


class SilenceBroken(EventBase):
    added_fields = SIGNED
    type: Literal["SilenceBroken"] = "SilenceBroken"
    round: int
    member: str
    text_hash: TextHash
    reasons: str
    signature: AnswerSignature | None = None


class ObjectionWithdrawn(EventBase):
    added_fields = SIGNED
    type: Literal["ObjectionWithdrawn"] = "ObjectionWithdrawn"
    round: int
    member: str
    signature: AnswerSignature | None = None


class ConcernRegistered(EventBase):
    added_fields = SIGNED
    type: Literal["ConcernRegistered"] = "ConcernRegistered"
    round: int
    member: str
    statement: str
    signature: AnswerSignature | None = None


class DeadlineExtended(EventBase):
    type: Literal["DeadlineExtended"] = "DeadlineExtended"
    target: DeadlineTarget
    round: int | None = None
    previous_deadline: AwareDatetime
    new_deadline: AwareDatetime
    reminder_at: AwareDatetime | None = None
    reason: str


class RemindersSent(EventBase):
    type: Literal["RemindersSent"] = "RemindersSent"
    target: DeadlineTarget
    round: int | None = None
    recipients: tuple[str, ...]
    deadline: AwareDatetime


class ConsensusReached(EventBase):
    type: Literal["ConsensusReached"] = "ConsensusReached"
    round: int
    outcome: RoundOutcome
    text_hash: TextHash


class ConsensusFailed(EventBase):
    type: Literal["ConsensusFailed"] = "ConsensusFailed"
    round: int
    closed_by: RoundCloser
    objectors: tuple[str, ...]
    failed_rounds: int
    review_deadline: AwareDatetime | None = None


class DecisionAdopted(EventBase):
    type: Literal["DecisionAdopted"] = "DecisionAdopted"
    round: int
    revision: int
    text_hash: TextHash
    concerns: tuple[str, ...] = ()


class DecisionLapsed(EventBase):
    type: Literal["DecisionLapsed"] = "DecisionLapsed"
    failed_rounds: int


class ImplementationPlanned(EventBase):
    type: Literal["ImplementationPlanned"] = "ImplementationPlanned"
    action_items: tuple[ActionItem, ...]
    monitoring_body: str
    report_back_deadline: AwareDatetime
    reminder_at: AwareDatetime | None = None


class ProgressReported(EventBase):
    added_fields = SIGNED
    type: Literal["ProgressReported"] = "ProgressReported"
    item_id: ItemId | None = None
    summary: str
    report_back: bool
    signature: AnswerSignature | None = None


class ActionItemCompleted(EventBase):
    type: Literal["ActionItemCompleted"] = "ActionItemCompleted"
    item_id: ItemId
    note: str = ""


class ReportDeadlineMissed(EventBase):
    type: Literal["ReportDeadlineMissed"] = "ReportDeadlineMissed"
    report_back_deadline: AwareDatetime
    monitoring_body: str


class ImplementationIssueRaised(EventBase):
    added_fields = SIGNED
    type: Literal["ImplementationIssueRaised"] = "ImplementationIssueRaised"
    issue: int
    title: Title
    description: str
    signature: AnswerSignature | None = None


class IssueResolutionProposed(EventBase):
    type: Literal["IssueResolutionProposed"] = "IssueResolutionProposed"
    issue: int
    round: int
    text: Text
    text_hash: TextHash
    roster_version: int
    members: tuple[str, ...]
    deadline: AwareDatetime
    reminder_at: AwareDatetime | None = None


class ImplementationIssueResolved(EventBase):
    type: Literal["ImplementationIssueResolved"] = "ImplementationIssueResolved"
    issue: int
    round: int
    text_hash: TextHash


class ExtraordinaryMeetingRequested(EventBase):
    added_fields = SIGNED
    type: Literal["ExtraordinaryMeetingRequested"] = "ExtraordinaryMeetingRequested"
    level: LevelCode
    reason: str
    signature: AnswerSignature | None = None


class DecisionCompleted(EventBase):
    type: Literal["DecisionCompleted"] = "DecisionCompleted"
    summary: str = ""


class DecisionWithdrawn(EventBase):
    type: Literal["DecisionWithdrawn"] = "DecisionWithdrawn"
    reason: str = ""


class DecisionSuperseded(EventBase):
    type: Literal["DecisionSuperseded"] = "DecisionSuperseded"
    superseded_by: DecisionId
    reason: str = ""


class DecisionSupersedes(EventBase):
    """On the successor's stream: it supersedes an earlier decision (whose stream says
    `DecisionSuperseded` with this decision's id)."""

    type: Literal["DecisionSupersedes"] = "DecisionSupersedes"
    supersedes: DecisionId
    reason: str = ""


class DecisionSuspended(EventBase):
    type: Literal["DecisionSuspended"] = "DecisionSuspended"
    reason: str


class DecisionResumed(EventBase):
    type: Literal["DecisionResumed"] = "DecisionResumed"
    reason: str = ""
    paused_seconds: int = Field(ge=0)
    """The pause in whole seconds (what a decision resumed before 2026-12-06 moved by)."""
    paused_microseconds: int | None = Field(default=None, ge=0)
    """The pause exactly: every open deadline moves by it."""

    added_fields = frozenset({"paused_microseconds"})


class AgendaItemScheduled(EventBase):
    """The decision is on a sitting's agenda (the sitting's own stream holds the whole one)."""

    type: Literal["AgendaItemScheduled"] = "AgendaItemScheduled"
    meeting_id: str
    body: str
    sitting_at: AwareDatetime
    item: AgendaItemKind
    detail: str = ""


Event = Annotated[
    ProposalSubmitted
    | ReferredToPreparatoryCommittee
    | ProposalAmended
    | ReviewCompleted
    | ReturnedToProposer
    | ReviewDeadlineMissed
    | ConsensusRoundOpened
    | ConcurrenceRecorded
    | SilenceBroken
    | ObjectionWithdrawn
    | ConcernRegistered
    | DeadlineExtended
    | RemindersSent
    | ConsensusReached
    | ConsensusFailed
    | DecisionAdopted
    | DecisionLapsed
    | ImplementationPlanned
    | ProgressReported
    | ActionItemCompleted
    | ReportDeadlineMissed
    | ImplementationIssueRaised
    | IssueResolutionProposed
    | ImplementationIssueResolved
    | ExtraordinaryMeetingRequested
    | DecisionCompleted
    | DecisionWithdrawn
    | DecisionSuperseded
    | DecisionSupersedes
    | DecisionSuspended
    | DecisionResumed
    | AgendaItemScheduled,
    Field(discriminator="type"),
]

EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event)
CLOSING_EVENTS: Final = frozenset(
    {"DecisionCompleted", "DecisionWithdrawn", "DecisionLapsed", "DecisionSuperseded"}
)
"""The events that close a decision: after one, its state is terminal and it takes no command."""
EVENT_TYPES: Final = frozenset(
    cls.model_fields["type"].default for cls in EventBase.__subclasses__()
)


def event_payload(event: EventBase) -> dict[str, Any]:
    """The event's own fields as JSON values, without its envelope: what the log stores."""
    absent = {f for f in event.added_fields if getattr(event, f) is None}
    return event.model_dump(mode="json", exclude=set(ENVELOPE_FIELDS | absent))


def parse_event(envelope: dict[str, Any], payload: dict[str, Any]) -> Event:
    """Rebuild an event from a stored envelope and payload; raises ValidationError if malformed."""
    return EVENT_ADAPTER.validate_python({**payload, **envelope})
