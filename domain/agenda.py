"""A sitting's agenda, built from what is pending at its instant: proposals awaiting review,
rounds closing before the next sitting, implementation issues, report-backs due, requests for
an extraordinary meeting no sitting has taken up yet; and whether a body kept its minimum of
sittings."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from datetime import UTC, datetime
from typing import Final

from pydantic import AwareDatetime

from domain.cadence import Cadence, Period
from domain.roster import Body, BodyKind
from domain.state import DecisionState, MeetingRequest
from domain.values import TERMINAL, AgendaItemKind, Frozen, Status


class AgendaItem(Frozen):
    """One decision's business before a sitting, and why it is there."""

    decision_id: str
    item: AgendaItemKind
    detail: str


def agenda_for(
    body: Body,
    states: Iterable[DecisionState],
    sitting_at: datetime,
    next_sitting_at: datetime | None,
    levels: Collection[str] | None = None,
) -> list[AgendaItem]:
    """What `body` has before it at `sitting_at`, from the decisions' states at that instant:
    ordered by decision, then by kind of business. `levels` are those at which the council has
    a body (None: every level a request names)."""
    items: list[AgendaItem] = []
    for state in sorted(states, key=lambda s: s.decision_id):
        if state.status in TERMINAL or state.proposed_at > sitting_at:
            continue
        items.extend(_business(body, state, sitting_at, next_sitting_at))
        items.extend(_requests(body, state, sitting_at, levels))
    return items


def _business(
    body: Body, s: DecisionState, at: datetime, until: datetime | None
) -> Iterator[AgendaItem]:
    review = s.review
    if (
        body.kind is BodyKind.PREPARATORY_COMMITTEE
        and s.status is Status.IN_REVIEW
        and review is not None
        and review.committee == body.code
        and review.forwarded_revision != s.current_revision.number
    ):
        yield _item(s, AgendaItemKind.PROPOSAL_FOR_REVIEW, f"revision {s.current_revision.number}")
    if s.body != body.code:
        return
    for r in s.open_rounds:
        if until is None or r.deadline <= until:
            yield _item(
                s, AgendaItemKind.ROUND_CLOSING, f"round {r.number} closes {_at(r.deadline)}"
            )
    for issue in s.open_issues:
        yield _item(s, AgendaItemKind.IMPLEMENTATION_ISSUE, f"issue {issue.number}: {issue.title}")
    plan = s.plan
    if plan is not None and s.status is Status.IN_IMPLEMENTATION:
        due = plan.report_back_deadline
        if until is None or due <= until:
            yield _item(s, AgendaItemKind.REPORT_BACK_DUE, f"report back due {_at(due)}")


def _requests(
    body: Body, s: DecisionState, at: datetime, levels: Collection[str] | None
) -> Iterator[AgendaItem]:
    for number, request in enumerate(s.meetings, start=1):
        if request.at <= at and _asked(body, s, request, levels) and not _met(body, s, request, at):
            yield _item(
                s,
                AgendaItemKind.EXTRAORDINARY_REQUEST,
                f"request {number} by {request.requested_by}: {request.reason}",
            )


def _asked(
    body: Body, s: DecisionState, request: MeetingRequest, levels: Collection[str] | None
) -> bool:
    """Whether a request for an extraordinary meeting is `body`'s business: the Council at the
    requested level meets, or the decision's own body when the council sits at no such level
    (as the request's sitting is planned)."""
    if levels is None or request.level in levels:
        return body.level == request.level
    return body.code == s.body


def _met(body: Body, s: DecisionState, request: MeetingRequest, at: datetime) -> bool:
    """Whether a sitting of `body` up to `at` has taken the request up: one at or after the
    request whose agenda held a request of the decision (each such agenda holds every request
    of it made by then and not yet met)."""
    return any(
        entry.item is AgendaItemKind.EXTRAORDINARY_REQUEST
        and entry.body == body.code
        and request.at <= entry.sitting_at <= at
        for entry in s.agenda
    )


MEETING_STREAM_PREFIX: Final = "meeting."


def meeting_id(body: str, sitting_at: datetime, *, extraordinary: bool = False) -> str:
    """The stream of a sitting in the log: `meeting.<body>-<instant>[-x]`, a name no decision
    id can take."""
    instant = sitting_at.astimezone(UTC).strftime("%Y%m%dt%H%Mz")
    return f"{MEETING_STREAM_PREFIX}{body.lower()}-{instant}" + ("-x" if extraordinary else "")


def _item(s: DecisionState, kind: AgendaItemKind, detail: str) -> AgendaItem:
    return AgendaItem(decision_id=s.decision_id, item=kind, detail=detail[:300])


def _at(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M UTC")


class PeriodHeld(Frozen):
    """The sittings one period of a body's minimum frequency held, against that minimum."""

    start: AwareDatetime
    held: int
    required: int

    @property
    def short(self) -> bool:
        return self.held < self.required


def periods_held(
    cadence: Cadence, sittings: Iterable[datetime], start: datetime, end: datetime
) -> list[PeriodHeld]:
    """Each whole period of the cadence's minimum within [start, end), with the sittings held
    in it; none when the cadence sets no minimum."""
    minimum = cadence.at_least
    if minimum is None:
        return []
    held = sorted(sittings)
    periods: list[PeriodHeld] = []
    first = _first_whole(minimum.per, start)
    while first + minimum.per.length <= end:
        after = first + minimum.per.length
        count = sum(1 for s in held if first <= s < after)
        periods.append(PeriodHeld(start=first, held=count, required=minimum.sittings))
        first = after
    return periods


def _first_whole(period: Period, start: datetime) -> datetime:
    first = period.start_of(start)
    return first if first >= start else first + period.length
