"""How a decision reads to people: its status as one JSON document and as printed lines, the
text each round was opened on, and everything said in its log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel

from cli.session import out, shown
from domain.state import ConsensusRound, DecisionState, ImplementationIssue
from domain.transcript import Transcript, transcript
from domain.values import visible

if TYPE_CHECKING:
    from store.records import StoredEvent


def status_document(state: DecisionState, record: Transcript | None = None) -> dict[str, Any]:
    """The `status` JSON: the documented fields first, then the whole state. Texts are carried
    as stored; a resolution's text and withdrawn objections come from `record` (the events)."""
    record = record or Transcript()
    current = state.current_revision
    return {
        "decision_id": state.decision_id,
        "state": state.status.value,
        "title": state.title,
        "area": state.area,
        "proposer": state.proposer,
        "body": state.body,
        "roster_version": state.roster_version,
        "roster_on": state.roster_on.isoformat() if state.roster_on else None,
        "version": state.version,
        "revision": current.number,
        "text": current.text,
        "text_hash": current.text_hash,
        "superseded_by": state.superseded_by,
        "supersedes": list(state.supersedes),
        "rounds": [
            {
                "round": r.number,
                "subject": r.subject,
                "issue": r.issue,
                "revision": r.revision,
                "text_hash": r.text_hash,
                "text": record.text_of(state, r),
                "deadline": r.deadline.isoformat(),
                "roster_version": r.roster_version,
                "members": list(r.members),
                "outcome": r.outcome.value if r.outcome else None,
                "concurred": len(r.concurred),
                "objections": dict(r.objections),
                "withdrawn_objections": [
                    w.model_dump(mode="json", exclude={"round"}) for w in record.withdrawn_in(r)
                ],
                "pending": list(r.pending()),
                "silent": None if r.is_open else list(r.pending()),
                "answers": [
                    a.model_dump(mode="json", exclude={"round"})
                    for a in record.answers
                    if a.round == r.number
                ],
            }
            for r in state.rounds
        ],
        "implementation_issues": [
            {
                "issue": i.number,
                "title": i.title,
                "raised_by": i.raised_by,
                "open": i.is_open,
                "resolution_round": i.resolution_round,
                "resolution": _resolution(state, record, i),
            }
            for i in state.issues
        ],
        "meetings": [m.model_dump(mode="json") for m in state.meetings],
        "detail": state.model_dump(mode="json"),
    }


def _proposed_resolution(state: DecisionState, issue: ImplementationIssue) -> ConsensusRound | None:
    """The last round that proposed a resolution of `issue`: the one under way, the one that
    resolved it, or the one that failed last."""
    return next((r for r in reversed(state.rounds) if r.issue == issue.number), None)


def _resolution(
    state: DecisionState, record: Transcript, issue: ImplementationIssue
) -> dict[str, Any] | None:
    proposed = _proposed_resolution(state, issue)
    if proposed is None:
        return None
    return {
        "round": proposed.number,
        "text": record.text_of(state, proposed),
        "text_hash": proposed.text_hash,
        "outcome": proposed.outcome.value if proposed.outcome else None,
    }


def readable(text: str) -> str:
    """Text someone wrote, safe to print: `shown`, with its invisible formatting characters
    (bidirectional overrides and isolates, zero-width characters) written out as \\uNNNN."""
    return shown(visible(text))


def _print_text(text: str, indent: str) -> None:
    for line in text.splitlines() or [""]:
        out.print(f"{indent}{readable(line)}")


def print_status(state: DecisionState, record: Transcript | None = None) -> None:
    """The whole decision as a secretariat reads it: text, rounds and who said what, plan."""
    record = record or Transcript()
    out.print(f"[bold]{state.decision_id}[/bold]  {readable(state.title)}")
    suspended = (
        f" (suspended from {state.suspended_from.value} since {state.suspended_at.isoformat()})"
        if state.suspended_from and state.suspended_at
        else ""
    )
    out.print(
        f"  state {state.status.value}{suspended}, area {state.area}, body {state.body}, "
        f"proposer {state.proposer}, version {state.version}"
    )
    if state.superseded_by:
        out.print(f"  superseded by {state.superseded_by}")
    for earlier in state.supersedes:
        out.print(f"  supersedes {earlier}")
    revision = state.current_revision
    out.print(f"  text, revision {revision.number} ({revision.text_hash}):")
    _print_text(revision.text, "    ")
    if state.review:
        flagged = ", deadline missed" if state.review.deadline_flagged else ""
        outcome = state.review.outcome.value if state.review.outcome else "under way"
        out.print(
            f"  review by {state.review.committee}: {outcome}; deadline "
            f"{state.review.deadline.isoformat()}{flagged}"
        )
    for r in state.rounds:
        _print_round(state, record, r)
    if state.plan:
        plan = state.plan
        received = (
            f", received {plan.report_back_received_at.isoformat()}"
            if plan.report_back_received_at
            else ""
        )
        out.print(
            f"  plan monitored by {plan.monitoring_body}: report back by "
            f"{plan.report_back_deadline.isoformat()}{received}; "
            f"{plan.progress_reports} progress reports"
        )
        for item in plan.action_items:
            done = "done" if item.item_id in plan.completed_items else "outstanding"
            who = item.assignee.code or "all members"
            out.print(f"    {item.item_id} ({who}): {readable(item.description)} — {done}")
    for i in state.issues:
        settled = "open" if i.is_open else "resolved"
        out.print(f"  issue {i.number} raised by {i.raised_by}: {readable(i.title)} — {settled}")
        if i.description:
            _print_text(i.description, "    ")
        proposed = _proposed_resolution(state, i)
        if proposed is not None:
            out.print(f"    resolution of round {proposed.number} ({proposed.text_hash})")
    for meeting in state.meetings:
        out.print(
            f"  extraordinary meeting at the level of {meeting.level} requested by "
            f"{meeting.requested_by} at {meeting.at.isoformat()}: {readable(meeting.reason)}"
        )


def _print_round(state: DecisionState, record: Transcript, r: ConsensusRound) -> None:
    """A round: the text it was opened on (printed, unless it is the current text above), who
    concurred, who objects and who withdrew an objection, concerns, who is still silent."""
    outcome = r.outcome.value if r.outcome else f"open until {r.deadline.isoformat()}"
    reminded = ", reminders sent" if r.reminded else ""
    out.print(f"  round {r.number} on {r.subject}: {outcome}{reminded}")
    text = record.text_of(state, r)
    if r.issue is None:
        on = f"on revision {r.revision} ({r.text_hash})"
        if r.revision == state.current_revision.number or text is None:
            out.print(f"    {on}, the text above")
        else:
            out.print(f"    {on}:")
            _print_text(text, "      ")
    elif text is None:
        out.print(f"    on a resolution ({r.text_hash}) the log keeps: it could not be read")
    else:
        out.print(f"    on the resolution ({r.text_hash}):")
        _print_text(text, "      ")

    def marked(member: str, *types: str) -> str:
        given = record.answer(r.number, member, *types)
        mark = given.mark() if given else ""
        return f"{member} ({mark})" if mark else member

    concurred = [marked(m, "ConcurrenceRecorded") for m in r.concurred]
    out.print(f"    concurred ({len(r.concurred)}): {', '.join(concurred) or 'none'}")
    for member, reasons in r.objections.items():
        out.print(f"    {marked(member, 'SilenceBroken')} objects: {readable(reasons)}")
    for withdrawn in record.withdrawn_in(r):
        out.print(
            f"    {withdrawn.member} objected: {readable(withdrawn.reasons)} — withdrawn "
            f"{withdrawn.withdrawn_at.isoformat()}"
        )
    for concern in r.concerns:
        who = marked(concern.member, "ConcernRegistered")
        out.print(f"    {who} concern: {readable(concern.statement)}")
    if r.is_open:
        out.print(f"    not yet answered: {', '.join(r.pending()) or 'none'}")
    else:
        out.print(f"    silent: {', '.join(r.pending()) or 'none'}")


STATED: Final = ("reasons", "reason", "summary", "statement", "note", "description")
"""The payload fields in which someone says something: reasons, summaries, notes."""
SAID_WITHOUT_WORDS: Final = frozenset({"ObjectionWithdrawn"})
"""The events that say something by being recorded: withdrawing an objection."""


class Statement(BaseModel):
    """One thing someone said in the decision's log: an objection's reasons and its withdrawal,
    a report's summary, an extension's or a suspension's reason; with the round, the action item
    or the level of meeting it is about."""

    version: int
    at: datetime
    actor: str
    event: str
    text: str
    round: int | None = None
    item_id: str | None = None
    level: str | None = None

    def about(self) -> str:
        """What the statement is about, as a parenthesis (empty when the event names nothing)."""
        named = [
            f"{name} {value}"
            for name, value in (("round", self.round), ("item", self.item_id))
            if value is not None
        ]
        if self.level is not None:
            named.append(f"at the level of {self.level}")
        return f" ({', '.join(named)})" if named else ""


def statements(logged: list[StoredEvent]) -> list[Statement]:
    """Everything said in a decision's events, in order."""
    return [
        Statement(
            version=e.stream_version,
            at=e.occurred_at,
            actor=e.actor,
            event=e.type,
            text=words,
            round=_number(e.payload, "round"),
            item_id=_code(e.payload, "item_id"),
            level=_code(e.payload, "level"),
        )
        for e in logged
        for words in _words(e)
    ]


def _words(event: StoredEvent) -> list[str]:
    said = [
        str(event.payload[key])
        for key in STATED
        if isinstance(event.payload.get(key), str) and event.payload[key].strip()
    ]
    return said or ([""] if event.type in SAID_WITHOUT_WORDS else [])


def _number(payload: dict[str, Any], key: str) -> int | None:
    value = payload.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _code(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


def read_back(
    logged: list[StoredEvent] | None, keys: list[StoredEvent] | None = None
) -> Transcript | None:
    """The transcript of a decision's logged events, its answers' keys flagged from the key
    registry's events (`keys`); None when the log could not be read."""
    if logged is None:
        return None
    from store.council_events import registry_of
    from store.decision_events import domain_event

    return transcript((domain_event(e) for e in logged), registry_of(keys or []).flagged())
