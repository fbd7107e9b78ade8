"""Commands: what operators, members and the procedure's clock ask of a decision."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final, Literal, TypedDict, get_args

from pydantic import Field, TypeAdapter

from domain.areas import AreaCode, LevelCode
from domain.roster import CHAIR, PREPARATORY_COMMITTEE, BodyCode
from domain.statements import AnswerSignature
from domain.values import (
    SYSTEM,
    ActorCode,
    AgendaItemKind,
    CleanDetail,
    CleanLabel,
    CleanStatement,
    CleanText,
    CleanTitle,
    Deadline,
    DeadlineTarget,
    DecisionId,
    Frozen,
    Instant,
    ItemId,
    MeetingId,
    Number,
    PlannedItems,
    Principal,
    ReviewOutcome,
    Seconds,
    TextHash,
    by_value,
)

DEFAULT_REVIEW_PERIOD: Final = 14 * 86_400
"""The Preparatory Committee meets twice monthly: a review takes fourteen days by default."""


class CommandHeader(TypedDict):
    """CommandBase's fields as a typed mapping, to spread into a command's constructor."""

    decision_id: str
    actor: str
    recorded_by: str


COMMAND_ENVELOPE: Final = frozenset({"kind", *CommandHeader.__required_keys__})
"""The fields every command has beside its own: its kind, its decision, for whom, by whom."""


class CommandBase(Frozen):
    """Every command names its decision, on whose behalf it is given, and who recorded it."""

    decision_id: DecisionId
    actor: ActorCode
    recorded_by: Principal


class MemberAnswer(CommandBase):
    """An answer a member's own key may sign (domain.declarations: its `signed`)."""

    signature: AnswerSignature | None = None
    """The member's signature over the answer's statement (domain.statements); None when the
    answer is unsigned."""


class SubmitProposal(CommandBase):
    kind: Literal["submit_proposal"] = "submit_proposal"
    title: CleanTitle
    text: CleanText
    area: AreaCode
    """One of the council's areas of cooperation, or `other` with a label."""
    area_label: CleanLabel | None = None
    level: LevelCode | None = None
    """The Council level that decides (its body at that level); the council's first deciding
    body when neither this nor `body` is given."""
    body: BodyCode | None = None
    """The body that decides: the Council at a level, or a working group."""
    roster_on: date | None = None
    """The day whose roster binds the decision; the roster in force as each step is taken when
    None."""
    plan_draft: PlannedItems = ()
    max_failed_rounds: int = Field(default=3, ge=1, le=20)
    review_period_seconds: Seconds = DEFAULT_REVIEW_PERIOD


class ReferToPreparatoryCommittee(CommandBase):
    kind: Literal["refer"] = "refer"
    review_deadline: Deadline | None = None


class AmendProposal(CommandBase):
    kind: Literal["amend"] = "amend"
    text: CleanText
    note: CleanStatement = ""


class CompleteReview(CommandBase):
    kind: Literal["complete_review"] = "complete_review"
    outcome: Annotated[ReviewOutcome, by_value(ReviewOutcome)]
    text: CleanText | None = None
    reasons: CleanStatement = ""


class OpenRound(CommandBase):
    kind: Literal["open_round"] = "open_round"
    deadline: Deadline
    reminder_before_seconds: Seconds | None = None


class Concur(MemberAnswer):
    kind: Literal["concur"] = "concur"
    round: Number
    text_hash: TextHash


class BreakSilence(MemberAnswer):
    kind: Literal["break_silence"] = "break_silence"
    round: Number
    text_hash: TextHash
    reasons: CleanStatement


class WithdrawObjection(MemberAnswer):
    kind: Literal["withdraw_objection"] = "withdraw_objection"
    round: Number


class RegisterConcern(MemberAnswer):
    kind: Literal["register_concern"] = "register_concern"
    round: Number
    statement: CleanStatement


class ExtendDeadline(CommandBase):
    kind: Literal["extend_deadline"] = "extend_deadline"
    target: Annotated[DeadlineTarget, by_value(DeadlineTarget)]
    round: Number | None = None
    new_deadline: Deadline
    reason: CleanStatement


class CloseRound(CommandBase):
    kind: Literal["close_round"] = "close_round"
    round: Number


class SendReminders(CommandBase):
    kind: Literal["send_reminders"] = "send_reminders"
    target: Annotated[DeadlineTarget, by_value(DeadlineTarget)]
    round: Number | None = None


class FlagMissedDeadline(CommandBase):
    kind: Literal["flag_missed_deadline"] = "flag_missed_deadline"
    target: Literal[DeadlineTarget.REVIEW, DeadlineTarget.REPORT_BACK]


class PlanImplementation(CommandBase):
    kind: Literal["plan_implementation"] = "plan_implementation"
    action_items: Annotated[PlannedItems, Field(min_length=1)]
    monitoring_body: BodyCode | None = None
    """The body the plan reports back to: the council's preparatory body when None."""
    report_back_deadline: Deadline
    reminder_before_seconds: Seconds | None = None


class ReportProgress(MemberAnswer):
    kind: Literal["report_progress"] = "report_progress"
    item_id: ItemId | None = None
    summary: Annotated[CleanStatement, Field(min_length=1)]


class CompleteActionItem(CommandBase):
    kind: Literal["complete_action_item"] = "complete_action_item"
    item_id: ItemId
    note: CleanStatement = ""


class RaiseIssue(MemberAnswer):
    kind: Literal["raise_issue"] = "raise_issue"
    title: CleanTitle
    description: CleanStatement = ""


class ProposeIssueResolution(CommandBase):
    kind: Literal["propose_issue_resolution"] = "propose_issue_resolution"
    issue: Number
    text: CleanText
    deadline: Deadline
    reminder_before_seconds: Seconds | None = None


class RequestMeeting(MemberAnswer):
    kind: Literal["request_meeting"] = "request_meeting"
    level: LevelCode | None = None
    """The level at which the council is asked to meet: the decision's own body's level when
    it is a council body at one, else the council's first level."""
    reason: CleanStatement


class CompleteDecision(CommandBase):
    kind: Literal["complete"] = "complete"
    summary: CleanStatement = ""


class WithdrawDecision(CommandBase):
    kind: Literal["withdraw"] = "withdraw"
    reason: CleanStatement = ""


class SupersedeDecision(CommandBase):
    kind: Literal["supersede"] = "supersede"
    superseded_by: DecisionId
    reason: CleanStatement = ""


class RecordSupersession(CommandBase):
    """The successor's side of a supersession: sent by Concord, never typed by a person, once
    the superseded decision has recorded the link on its own stream."""

    kind: Literal["record_supersession"] = "record_supersession"
    supersedes: DecisionId
    reason: CleanStatement = ""


class SuspendDecision(CommandBase):
    kind: Literal["suspend"] = "suspend"
    reason: CleanStatement


class ResumeDecision(CommandBase):
    kind: Literal["resume"] = "resume"
    reason: CleanStatement = ""


class ScheduleAgendaItem(CommandBase):
    """Put the decision on a sitting's agenda: Concord's meetings do, as each sitting opens."""

    kind: Literal["schedule_agenda_item"] = "schedule_agenda_item"
    meeting_id: MeetingId
    body: BodyCode
    sitting_at: Instant
    item: Annotated[AgendaItemKind, by_value(AgendaItemKind)]
    detail: CleanDetail = ""


AnyCommand = (
    SubmitProposal
    | ReferToPreparatoryCommittee
    | AmendProposal
    | CompleteReview
    | OpenRound
    | Concur
    | BreakSilence
    | WithdrawObjection
    | RegisterConcern
    | ExtendDeadline
    | CloseRound
    | SendReminders
    | FlagMissedDeadline
    | PlanImplementation
    | ReportProgress
    | CompleteActionItem
    | RaiseIssue
    | ProposeIssueResolution
    | RequestMeeting
    | CompleteDecision
    | WithdrawDecision
    | SupersedeDecision
    | RecordSupersession
    | SuspendDecision
    | ResumeDecision
    | ScheduleAgendaItem
)
"""Every command, as a type."""
Command = Annotated[AnyCommand, Field(discriminator="kind")]
"""Every command, told apart by its kind."""

COMMAND_ADAPTER: Final[TypeAdapter[Command]] = TypeAdapter(Command)
COMMAND_CLASSES: Final[dict[str, type[AnyCommand]]] = {
    model.model_fields["kind"].default: model for model in get_args(AnyCommand)
}
"""Each command's class by its kind (domain.declarations names commands by kind)."""


def command_of(
    kind: str,
    decision_id: str,
    actor: str,
    recorded_by: str | None = None,
    *,
    operator: str = "secretariat",
    **fields: Any,
) -> Command:
    """The command of `kind` a script gives (the demo, the tests' drivers), validated.

    Unless `recorded_by` says otherwise, a member state records in its own name and the chair
    or a body through the operator, as a secretariat records what it is told in a meeting.
    Raises pydantic's ValidationError naming the field when a value is malformed.
    """
    if recorded_by is None:
        # Bodies are the Preparatory Committee and the Council's levels (codes with a hyphen).
        by_operator = actor in (CHAIR, SYSTEM, PREPARATORY_COMMITTEE) or "-" in actor
        recorded_by = f"operator:{operator}" if by_operator else f"member:{actor}"
    return COMMAND_ADAPTER.validate_python(
        {
            "kind": kind,
            "decision_id": decision_id,
            "actor": actor,
            "recorded_by": recorded_by,
            **fields,
        }
    )
