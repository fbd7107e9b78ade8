"""The context of one command being decided, and the checks every rule of the procedure shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from pydantic import TypeAdapter

from domain import commands as cmd
from domain import events as ev
from domain.errors import InvalidInput, NotFound, Refusal, Rule
from domain.roster import CHAIR, Roster, RosterBook
from domain.state import ConsensusRound, DecisionState
from domain.values import PROCEDURE_PRINCIPAL, SYSTEM, ActionItem, AssigneeKind, Status

_SPAN: Final = TypeAdapter(timedelta)
"""A span as a refusal's particular: ISO 8601, as a council file writes its minimum silence."""


@dataclass(frozen=True)
class Practice:
    """The amendments of the procedure's practice a decision follows. A decision keeps the
    practice it started under, so its stored history replays as it was decided; new decisions
    follow every amendment (the defaults)."""

    outcomes_by_procedure: bool = True
    """A round agreed by every member's concurrence is the procedure's outcome (`system`), not
    the last concurring member's (before 2026-11-25)."""
    joint_items_by_chair: bool = True
    """An item assigned to all members jointly is completed by the chair or the monitoring body;
    each member reports its own part (before 2026-11-26 any member could complete it)."""
    amended_2026_12_06: bool = True
    """The amendments of 2026-12-06: only member states propose (the chair could before); a
    suspended decision neither supersedes nor is superseded until the chair resumes it (it could
    be either before); a suspension's pause is kept to the microsecond (it was cut to whole
    seconds, so a round suspended 10.28 s closed 0.28 s early); the monitoring body's report on
    one item is progress on that item, not its report-back on the plan (it was both); an area's
    label is given only for the area `other` (it was stored for any area)."""
    council_rules: bool = True
    """The council's own rules: an extraordinary meeting is requested at a level the council
    sits at (a request for another level was recorded, and its sitting never convened)."""


CURRENT_PRACTICE = Practice()


class Deciding:
    """One command being decided: the state it is decided on, when, and the events it produces."""

    def __init__(
        self,
        state: DecisionState | None,
        command: cmd.CommandBase,
        now: datetime,
        rosters: RosterBook,
        practice: Practice = CURRENT_PRACTICE,
    ) -> None:
        self._state = state
        self.command = command
        self.now = now
        self.rosters = rosters
        self.practice = practice
        self.events: list[ev.Event] = []

    @property
    def state(self) -> DecisionState:
        """The state decided upon; only SubmitProposal is decided without one."""
        assert self._state is not None
        return self._state

    @property
    def actor(self) -> str:
        return self.command.actor

    def roster(self) -> Roster:
        """The roster that binds this command: that of the day the decision names, or the one
        in force now."""
        day = self._state.roster_on if self._state else None
        if self._state is None and isinstance(self.command, cmd.SubmitProposal):
            day = self.command.roster_on
        try:
            return self.rosters.on(day) if day else self.rosters.snapshot_at(self.now)
        except NotFound as missing:
            sought = day or self.now.astimezone(UTC).date()
            raise Refusal(
                Rule.NOT_ON_ROSTER, str(missing), member=self.actor, day=sought.isoformat()
            ) from None

    def envelope(self) -> ev.Envelope:
        """The envelope of the next event: spread it into the event's constructor, then emit."""
        return ev.Envelope(
            decision_id=self.command.decision_id,
            stream_version=self._next_version(),
            occurred_at=self.now,
            actor=self.command.actor,
            recorded_by=self.command.recorded_by,
        )

    def outcome_envelope(self) -> ev.Envelope:
        """The envelope of an outcome the procedure concludes from the command (a round every
        member has concurred in): recorded as the procedure's, not as the command's actor's."""
        envelope = self.envelope()
        if self.practice.outcomes_by_procedure:
            envelope["actor"] = SYSTEM
            envelope["recorded_by"] = PROCEDURE_PRINCIPAL
        return envelope

    def emit(self, event: ev.Event) -> None:
        """Record `event`, built on the envelope `envelope()` gave for it."""
        if event.stream_version != self._next_version():
            raise AssertionError(
                f"{event.type} carries version {event.stream_version}, "
                f"not {self._next_version()}: emit each event before building the next envelope"
            )
        self.events.append(event)

    def _next_version(self) -> int:
        return (self._state.version if self._state else 0) + len(self.events) + 1


def require_chair(d: Deciding, doing: str) -> None:
    if d.actor != CHAIR:
        raise Refusal(
            Rule.WRONG_ROLE, f"only the chair may {doing}; {d.actor} may not", actor=d.actor
        )


def require_system(d: Deciding, doing: str) -> None:
    if d.actor != SYSTEM:
        raise Refusal(Rule.WRONG_ROLE, f"only Concord's clock may {doing}", actor=d.actor)


def require_member(d: Deciding, doing: str) -> Roster:
    roster = d.roster()
    if d.actor in (CHAIR, SYSTEM) or roster.is_body(d.actor):
        raise Refusal(
            Rule.WRONG_ROLE,
            f"only a member state may {doing}; {d.actor} is not one",
            actor=d.actor,
        )
    if not roster.is_member(d.actor):
        raise Refusal(
            Rule.NOT_ON_ROSTER,
            f"{d.actor} is not on roster version {roster.version}",
            member=d.actor,
            version=roster.version,
        )
    return roster


def require_status(d: Deciding, allowed: frozenset[Status] | set[Status], doing: str) -> None:
    state = d.state
    if state.status not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise Refusal(
            Rule.WRONG_STATE,
            f"cannot {doing}: decision {state.decision_id} is {state.status.value} "
            f"(must be {names})",
            decision=state.decision_id,
            status=state.status.value,
        )


def require_future(d: Deciding, deadline: datetime, field: str) -> None:
    if deadline <= d.now:
        raise Refusal(
            Rule.DEADLINE_IN_PAST,
            f"{field} {deadline.isoformat()} is not after now ({d.now.isoformat()})",
            field=field,
            deadline=deadline.isoformat(),
            now=d.now.isoformat(),
        )


def require_silence(d: Deciding, opened_at: datetime, deadline: datetime, field: str) -> None:
    """A silence procedure gives the members at least the council's minimum (its deciding
    body's own, when it sets one) to answer, from its opening to its deadline."""
    if not d.practice.council_rules:
        return
    body = d.state.body
    minimum = d.roster().silence_minimum(body)
    if deadline - opened_at < minimum:
        raise Refusal(
            Rule.SILENCE_TOO_SHORT,
            f"a silence procedure of {body} lasts at least {spoken(minimum)} (its minimum "
            f"silence period); {field} {deadline.isoformat()} is {spoken(deadline - opened_at)} "
            "after the round's opening",
            body=body,
            minimum=_SPAN.dump_python(minimum, mode="json"),
            field=field,
            deadline=deadline.isoformat(),
        )


def spoken(span: timedelta) -> str:
    """A span as people say it, in its largest whole unit: `1 day`, `36 hours`, `0.5 seconds`."""
    seconds = span.total_seconds()
    for name, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {name}{'s' if count != 1 else ''}"
    said = str(int(seconds)) if seconds.is_integer() else f"{seconds:g}"
    return f"{said} second{'s' if seconds != 1 else ''}"


def require_text(value: str, field: str) -> str:
    if not value.strip():
        raise InvalidInput(field, "must not be empty")
    return value


def reminder_at(d: Deciding, deadline: datetime, before: int | None) -> datetime | None:
    """When to remind, `before` seconds ahead of `deadline`; InvalidInput when that instant has
    already passed (a reminder asked for is never silently dropped)."""
    if before is None:
        return None
    at = deadline - timedelta(seconds=before)
    if at <= d.now:
        window = int((deadline - d.now).total_seconds())
        raise InvalidInput(
            "reminder_before_seconds",
            f"a reminder {before} s ahead of a deadline {max(window, 0)} s away would come "
            "before now: give a shorter one, or none",
        )
    return at


def require_open_round(d: Deciding, number: int) -> ConsensusRound:
    r = d.state.round(number)
    if not r.is_open:
        outcome = r.outcome.value if r.outcome else "closed"
        raise Refusal(Rule.NO_OPEN_ROUND, f"round {number} is closed ({outcome})", round=number)
    return r


def answerable_round(d: Deciding, number: int) -> ConsensusRound:
    """An open round whose deadline has not passed and on whose roster the actor stands."""
    r = require_open_round(d, number)
    if d.now >= r.deadline:
        raise Refusal(
            Rule.DEADLINE_PASSED,
            f"round {number}'s deadline {r.deadline.isoformat()} has passed",
            round=number,
            deadline=r.deadline.isoformat(),
        )
    if d.actor not in r.members:
        raise Refusal(
            Rule.NOT_ON_ROUND_ROSTER,
            f"{d.actor} is not on the roster of round {number} (roster version {r.roster_version})",
            member=d.actor,
            round=number,
            version=r.roster_version,
        )
    return r


def check_hash(r: ConsensusRound, given: str) -> None:
    if given != r.text_hash:
        raise Refusal(
            Rule.STALE_TEXT,
            f"round {r.number} is on text {r.text_hash}, not {given}: "
            "read the current text and answer again",
            round=r.number,
            text_hash=r.text_hash,
            given=given,
        )


def check_assignees(d: Deciding, items: tuple[ActionItem, ...], roster: Roster) -> None:
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
                item=item.item_id,
                member=code or "",
                version=roster.version,
            )
        if item.assignee.kind is AssigneeKind.BODY and not roster.is_body(code or ""):
            raise Refusal(
                Rule.NOT_ON_ROSTER,
                f"action item {item.item_id}: {code} is not a body of the Council",
                item=item.item_id,
                member=code or "",
            )


def may_act_for_item(d: Deciding, item_id: str | None) -> None:
    roster = d.roster()
    if d.actor == CHAIR:
        return
    if item_id is None:
        if not (roster.is_member(d.actor) or roster.is_body(d.actor)):
            raise Refusal(
                Rule.NOT_ON_ROSTER,
                f"{d.actor} is not on roster version {roster.version}",
                member=d.actor,
                version=roster.version,
            )
        return
    assert d.state.plan is not None
    item = d.state.plan.item(item_id)
    allowed = (
        item.assignee.kind is AssigneeKind.ALL_MEMBERS and roster.is_member(d.actor)
    ) or item.assignee.code == d.actor
    if not allowed:
        raise Refusal(
            Rule.ITEM_NOT_ASSIGNED,
            f"action item {item_id} is assigned to {item.assignee.label()}, not {d.actor}",
            item=item_id,
            assignee=item.assignee.code or item.assignee.kind.value,
            actor=d.actor,
        )
