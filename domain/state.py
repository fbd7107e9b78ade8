"""The state of one joint decision, derived from its events alone: never stored beside them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Self

from pydantic import AwareDatetime, Field

from domain.areas import AreaCode, LevelCode
from domain.errors import Refusal, Rule
from domain.values import (
    ActionItem,
    AgendaItemKind,
    AssigneeKind,
    DecisionId,
    Frozen,
    ReviewOutcome,
    RoundOutcome,
    Status,
)


class _Derived(Frozen):
    """A part of the state: never changed in place, only replaced by a validated copy."""

    def replace(self, **changes: object) -> Self:
        """A copy with `changes`, validated like a new instance (model_copy would not validate)."""
        return self.model_validate({**self.__dict__, **changes})


class TextRevision(_Derived):
    number: int
    text: str
    text_hash: str
    at: AwareDatetime
    by: str


class Concern(_Derived):
    """A non-blocking statement a member attaches to a round, and so to the adoption."""

    member: str
    statement: str


class ConsensusRound(_Derived):
    """A silence procedure on one fixed text, one roster snapshot and one deadline."""

    number: int
    issue: int | None = None
    revision: int | None = None
    text_hash: str
    roster_version: int
    members: tuple[str, ...]
    opened_at: AwareDatetime
    deadline: AwareDatetime
    reminder_at: AwareDatetime | None = None
    reminded: bool = False
    concurred: tuple[str, ...] = ()
    objections: dict[str, str] = Field(default_factory=dict)
    concerns: tuple[Concern, ...] = ()
    outcome: RoundOutcome | None = None
    closed_at: AwareDatetime | None = None

    @property
    def is_open(self) -> bool:
        return self.outcome is None

    @property
    def subject(self) -> str:
        return "the decision" if self.issue is None else f"implementation issue {self.issue}"

    def pending(self) -> tuple[str, ...]:
        """Members of the round's roster who have neither concurred nor broken silence."""
        answered = set(self.concurred) | set(self.objections)
        return tuple(m for m in self.members if m not in answered)


class Review(_Derived):
    committee: str
    referred_at: AwareDatetime
    deadline: AwareDatetime
    outcome: ReviewOutcome | None = None
    forwarded_revision: int | None = None
    deadline_flagged: bool = False


class ImplementationPlan(_Derived):
    action_items: tuple[ActionItem, ...]
    monitoring_body: str
    report_back_deadline: AwareDatetime
    reminder_at: AwareDatetime | None = None
    reminded: bool = False
    report_back_received_at: AwareDatetime | None = None
    deadline_flagged: bool = False
    completed_items: tuple[str, ...] = ()
    progress_reports: int = 0
    last_report_at: AwareDatetime | None = None

    def item(self, item_id: str) -> ActionItem:
        for item in self.action_items:
            if item.item_id == item_id:
                return item
        known = ", ".join(i.item_id for i in self.action_items)
        raise Refusal(
            Rule.NO_SUCH_ITEM,
            f"no action item {item_id!r} in the plan (items: {known})",
            item=item_id,
            items=known,
        )

    @property
    def outstanding_items(self) -> tuple[str, ...]:
        return tuple(i.item_id for i in self.action_items if i.item_id not in self.completed_items)


class ImplementationIssue(_Derived):
    number: int
    title: str
    description: str
    raised_by: str
    raised_at: AwareDatetime
    resolution_round: int | None = None
    resolved_at: AwareDatetime | None = None
    resolution_hash: str | None = None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


class MeetingRequest(_Derived):
    level: LevelCode
    reason: str
    requested_by: str
    at: AwareDatetime


class AgendaEntry(_Derived):
    """A sitting that has the decision on its agenda, and why."""

    meeting_id: str
    body: str
    sitting_at: AwareDatetime
    item: AgendaItemKind
    detail: str = ""


class DecisionState(_Derived):
    """Everything known about one decision after its last event."""

    decision_id: DecisionId
    version: int
    status: Status
    title: str
    area: AreaCode
    area_label: str | None = None
    body: str
    level: LevelCode | None
    proposer: str
    roster_version: int
    roster_on: date | None = None
    """The day whose roster binds the decision, when its proposal named one."""
    proposed_at: AwareDatetime
    last_event_at: AwareDatetime
    revisions: tuple[TextRevision, ...]
    plan_draft: tuple[ActionItem, ...] = ()
    max_failed_rounds: int
    review_period_seconds: int
    review: Review | None = None
    rounds: tuple[ConsensusRound, ...] = ()
    failed_rounds: int = 0
    adopted_round: int | None = None
    adopted_at: AwareDatetime | None = None
    concerns: tuple[Concern, ...] = ()
    plan: ImplementationPlan | None = None
    issues: tuple[ImplementationIssue, ...] = ()
    meetings: tuple[MeetingRequest, ...] = ()
    agenda: tuple[AgendaEntry, ...] = ()
    suspended_from: Status | None = None
    suspended_at: AwareDatetime | None = None
    superseded_by: DecisionId | None = None
    supersedes: tuple[DecisionId, ...] = ()
    closed_at: AwareDatetime | None = None

    @property
    def current_revision(self) -> TextRevision:
        return self.revisions[-1]

    @property
    def bodies_awaited(self) -> tuple[str, ...]:
        """The council's bodies the open decision's next steps wait on: its own (whose rounds
        and sittings take it up), the committee reviewing it, the body monitoring its plan."""
        awaited = [self.body]
        status = self.suspended_from or self.status
        if status is Status.IN_REVIEW and self.review is not None:
            awaited.append(self.review.committee)
        if status is Status.IN_IMPLEMENTATION and self.plan is not None:
            awaited.append(self.plan.monitoring_body)
        return tuple(dict.fromkeys(awaited))

    def round(self, number: int) -> ConsensusRound:
        if 1 <= number <= len(self.rounds):
            return self.rounds[number - 1]
        held = (
            f"its rounds are 1 to {len(self.rounds)}" if self.rounds else "it has had no round yet"
        )
        raise Refusal(
            Rule.NO_SUCH_ROUND,
            f"decision {self.decision_id} has no round {number}: {held}",
            decision=self.decision_id,
            round=number,
            rounds=len(self.rounds),
        )

    @property
    def open_rounds(self) -> tuple[ConsensusRound, ...]:
        return tuple(r for r in self.rounds if r.is_open)

    @property
    def open_decision_round(self) -> ConsensusRound | None:
        return next((r for r in self.open_rounds if r.issue is None), None)

    def issue(self, number: int) -> ImplementationIssue:
        if 1 <= number <= len(self.issues):
            return self.issues[number - 1]
        raise Refusal(
            Rule.NO_SUCH_ISSUE,
            f"decision {self.decision_id} has no implementation issue {number}",
            decision=self.decision_id,
            issue=number,
        )

    @property
    def open_issues(self) -> tuple[ImplementationIssue, ...]:
        return tuple(i for i in self.issues if i.is_open)

    def pending_for(self, member: str) -> tuple[ConsensusRound, ...]:
        """The open rounds in which `member` has still to answer (none while suspended: no
        answer can be given then)."""
        if self.status is Status.SUSPENDED:
            return ()
        return tuple(r for r in self.open_rounds if member in r.pending())

    def items_owed(self) -> tuple[ActionItem, ...]:
        """The outstanding action items: each owed by its member, by its body, or by all members
        jointly (none but in implementation), in the plan's order."""
        if self.status is not Status.IN_IMPLEMENTATION or self.plan is None:
            return ()
        return tuple(
            item for item in self.plan.action_items if item.item_id not in self.plan.completed_items
        )

    def items_owed_by(self, member: str) -> tuple[ActionItem, ...]:
        """The outstanding action items `member` answers for, alone or jointly with all."""
        return tuple(
            item
            for item in self.items_owed()
            if item.assignee.kind is AssigneeKind.ALL_MEMBERS or item.assignee.code == member
        )

    def failed_revisions(self) -> frozenset[int]:
        return frozenset(
            r.revision
            for r in self.rounds
            if r.issue is None and r.outcome is RoundOutcome.FAILED and r.revision is not None
        )


def with_round(state: DecisionState, updated: ConsensusRound) -> tuple[ConsensusRound, ...]:
    """The state's rounds with one replaced by its updated version."""
    return tuple(updated if r.number == updated.number else r for r in state.rounds)


def with_issue(
    state: DecisionState, updated: ImplementationIssue
) -> tuple[ImplementationIssue, ...]:
    return tuple(updated if i.number == updated.number else i for i in state.issues)


def shifted(instant: datetime | None, by: timedelta) -> datetime | None:
    return None if instant is None else instant + by
