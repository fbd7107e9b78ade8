"""The context of one command being decided, and the checks every rule of the procedure shares."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, TypeVar

from domain import commands as cmd
from domain import events as ev
from domain.errors import InvalidInput, Refusal, Rule
from domain.roster import CHAIR, Roster, RosterBook
from domain.state import ConsensusRound, DecisionState
from domain.values import SYSTEM, ActionItem, AssigneeKind, RoundOutcome, Status

E = TypeVar("E", bound=ev.EventBase)


class Decision:
    """The command being decided, and the events it has produced so far."""

    def __init__(
        self,
        state: DecisionState | None,
        command: cmd.CommandBase,
        now: datetime,
        rosters: RosterBook,
    ) -> None:
        self.state = state
        self.command = command
        self.now = now
        self.rosters = rosters
        self.events: list[ev.Event] = []

    @property
    def s(self) -> DecisionState:
        """The state decided upon; only SubmitProposal is decided without one."""
        assert self.state is not None
        return self.state

    @property
    def actor(self) -> str:
        return self.command.actor

    def roster(self) -> Roster:
        return self.rosters.snapshot_at(self.now)

    def emit(self, event_type: type[E], **fields: Any) -> E:
        version = (self.state.version if self.state else 0) + len(self.events) + 1
        event = event_type(
            decision_id=self.command.decision_id,
            stream_version=version,
            occurred_at=self.now,
            actor=self.command.actor,
            recorded_by=self.command.recorded_by,
            **fields,
        )
        self.events.append(event)  # type: ignore[arg-type]
        return event


def require_chair(d: Decision, doing: str) -> None:
    if d.actor != CHAIR:
        raise Refusal(Rule.WRONG_ROLE, f"only the chair may {doing}; {d.actor} may not")


def require_system(d: Decision, doing: str) -> None:
    if d.actor != SYSTEM:
        raise Refusal(Rule.WRONG_ROLE, f"only Concord's clock may {doing}")


def require_member(d: Decision, doing: str) -> Roster:
    roster = d.roster()
    if d.actor in (CHAIR, SYSTEM) or roster.is_body(d.actor):
        raise Refusal(Rule.WRONG_ROLE, f"only a member state may {doing}; {d.actor} is not one")
    if not roster.is_member(d.actor):
        raise Refusal(Rule.NOT_ON_ROSTER, f"{d.actor} is not on roster version {roster.version}")
    return roster


def require_status(d: Decision, allowed: frozenset[Status] | set[Status], doing: str) -> None:
    if d.s.status not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise Refusal(
            Rule.WRONG_STATE,
            f"cannot {doing}: decision {d.s.decision_id} is {d.s.status.value} (must be {names})",
        )


def require_future(d: Decision, deadline: datetime, field: str) -> None:
    if deadline <= d.now:
        raise Refusal(
            Rule.DEADLINE_IN_PAST,
            f"{field} {deadline.isoformat()} is not after now ({d.now.isoformat()})",
        )


def require_text(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput(field, "must not be empty")
    return value


def reminder_at(d: Decision, deadline: datetime, before: int | None) -> datetime | None:
    if before is None:
        return None
    at = deadline - timedelta(seconds=before)
    return at if at > d.now else None


def require_open_round(d: Decision, number: int) -> ConsensusRound:
    r = d.s.round(number)
    if not r.is_open:
        outcome = r.outcome.value if r.outcome else "closed"
        raise Refusal(Rule.NO_OPEN_ROUND, f"round {number} is closed ({outcome})")
    return r


def answerable_round(d: Decision, number: int) -> ConsensusRound:
    """An open round whose deadline has not passed and on whose roster the actor stands."""
    r = require_open_round(d, number)
    if d.now >= r.deadline:
        raise Refusal(
            Rule.DEADLINE_PASSED, f"round {number}'s deadline {r.deadline.isoformat()} has passed"
        )
    if d.actor not in r.members:
        raise Refusal(
            Rule.NOT_ON_ROUND_ROSTER,
            f"{d.actor} is not on the roster of round {number} (roster version {r.roster_version})",
        )
    return r


def check_hash(r: ConsensusRound, given: str) -> None:
    if given != r.text_hash:
        raise Refusal(
            Rule.STALE_TEXT,
            f"round {r.number} is on text {r.text_hash}, not {given}: "
            "read the current text and answer again",
        )


def check_assignees(d: Decision, items: tuple[ActionItem, ...], roster: Roster) -> None:
    seen: set[str] = set()
    for item in items:
        if item.item_id in seen:
            raise InvalidInput("action_items", f"item id {item.item_id!r} appears twice")
        seen.add(item.item_id)
        code = item.assignee.code
        if item.assignee.kind is AssigneeKind.MEMBER and not roster.is_member(code or ""):
            raise Refusal(
                Rule.NOT_ON_ROSTER,
                f"action item {item.item_id}: {code} is not a member on roster "
                f"version {roster.version}",
            )
        if item.assignee.kind is AssigneeKind.BODY and not roster.is_body(code or ""):
            raise Refusal(
                Rule.NOT_ON_ROSTER,
                f"action item {item.item_id}: {code} is not a body of the Council",
            )


def may_act_for_item(d: Decision, item_id: str | None) -> None:
    roster = d.roster()
    if d.actor == CHAIR:
        return
    if item_id is None:
        if not (roster.is_member(d.actor) or roster.is_body(d.actor)):
            raise Refusal(
                Rule.NOT_ON_ROSTER, f"{d.actor} is not on roster version {roster.version}"
            )
        return
    assert d.s.plan is not None
    item = d.s.plan.item(item_id)
    allowed = (
        item.assignee.kind is AssigneeKind.ALL_MEMBERS and roster.is_member(d.actor)
    ) or item.assignee.code == d.actor
    if not allowed:
        raise Refusal(
            Rule.ITEM_NOT_ASSIGNED,
            f"action item {item_id} is assigned to {item.assignee.label()}, not {d.actor}",
        )


def settle_round(d: Decision, r: ConsensusRound, closed_by: str) -> None:
    """Adopt or fail `r` as it stands now: a round adopts only with no objection standing."""
    if r.objections:
        failed = d.s.failed_rounds + (1 if r.issue is None else 0)
        lapses = r.issue is None and failed >= d.s.max_failed_rounds
        review_deadline = None
        if r.issue is None and not lapses:
            review_deadline = d.now + timedelta(seconds=d.s.review_period_seconds)
        d.emit(
            ev.ConsensusFailed,
            round=r.number,
            closed_by=closed_by,
            objectors=tuple(sorted(r.objections)),
            failed_rounds=failed,
            review_deadline=review_deadline,
        )
        if lapses:
            d.emit(ev.DecisionLapsed, failed_rounds=failed)
        return
    outcome = (
        RoundOutcome.ADOPTED_BY_UNANIMOUS_CONCURRENCE
        if closed_by == "unanimous_concurrence"
        else RoundOutcome.ADOPTED_BY_SILENCE
    )
    d.emit(ev.ConsensusReached, round=r.number, outcome=outcome, text_hash=r.text_hash)
    if r.issue is None:
        d.emit(
            ev.DecisionAdopted,
            round=r.number,
            revision=r.revision,
            text_hash=r.text_hash,
            concerns=tuple(f"{c.member}: {c.statement}" for c in r.concerns),
        )
    else:
        d.emit(ev.ImplementationIssueResolved, issue=r.issue, round=r.number, text_hash=r.text_hash)
