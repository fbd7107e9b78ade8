"""Properties of the decider over random command sequences (hypothesis)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as label_run
from hypothesis import strategies as st
from pydantic import TypeAdapter

from domain import events as ev
from domain.clock import due_commands
from domain.commands import COMMAND_ADAPTER
from domain.decider import decide, evolve, replay
from domain.errors import ConcordError, InvalidHistory, Refusal, Rule
from domain.events import Event, event_payload, parse_event
from domain.nrc import ROME_2002
from domain.roster import CHAIR, Member, Roster, RosterBook
from domain.state import DecisionState
from domain.values import LATEST_DEADLINE

pytestmark = pytest.mark.slow

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
MEMBERS = ("AAA", "BBB", "CCC")
SMALL = RosterBook(
    rosters=(
        Roster(
            version=1,
            effective_from=date(2002, 5, 28),
            members=tuple(Member(code=c, name=c) for c in MEMBERS),
            bodies=ROME_2002.bodies,
        ),
    )
)
ACTORS = (*MEMBERS, CHAIR, "PC", "ZZZ")
START = datetime(2005, 1, 1, tzinfo=UTC)
KINDS = (
    "submit_proposal",
    "refer",
    "amend",
    "complete_review",
    "open_round",
    "concur",
    "break_silence",
    "withdraw_objection",
    "register_concern",
    "close_round",
    "extend_deadline",
    "plan_implementation",
    "report_progress",
    "complete_action_item",
    "raise_issue",
    "propose_issue_resolution",
    "request_meeting",
    "complete",
    "withdraw",
    "supersede",
    "suspend",
    "resume",
    "tick",
)


def _fields(
    kind: str, data: st.DataObject, state: DecisionState | None, now: datetime
) -> dict[str, Any]:
    later = data.draw(
        st.sampled_from(
            [
                (now + timedelta(hours=data.draw(st.integers(-2, 200)))).isoformat(),
                LATEST_DEADLINE.isoformat(),  # deadlines at the limit must survive suspensions
                (LATEST_DEADLINE + timedelta(seconds=1)).isoformat(),  # refused as input
            ]
        )
    )
    round_no = data.draw(st.integers(1, max(1, len(state.rounds) if state else 1)))
    current_hash = (
        state.round(round_no).text_hash if state and state.rounds else "sha256:" + "0" * 64
    )
    text = data.draw(st.sampled_from(["Text A", "Text B", "Text C", "Text D"]))
    item = {
        "item_id": data.draw(st.sampled_from(["I1", "I2"])),
        "description": "d",
        "assignee": data.draw(
            st.sampled_from(
                [
                    {"kind": "all_members"},
                    {"kind": "member", "code": "BBB"},
                    {"kind": "body", "code": "PC"},
                ]
            )
        ),
    }
    by_kind: dict[str, dict[str, Any]] = {
        "submit_proposal": {
            "title": "T",
            "text": text,
            "area": "crisis_management",
            "max_failed_rounds": 2,
        },
        "refer": {},
        "amend": {"text": text},
        "complete_review": {
            "outcome": data.draw(st.sampled_from(["forward", "amend", "return"])),
            "text": text,
            "reasons": "because",
        },
        "open_round": {
            "deadline": later,
            "reminder_before_seconds": data.draw(st.sampled_from([None, 3600])),
        },
        "concur": {"round": round_no, "text_hash": current_hash},
        "break_silence": {
            "round": round_no,
            "text_hash": current_hash,
            "reasons": data.draw(st.sampled_from(["", "objection"])),
        },
        "withdraw_objection": {"round": round_no},
        "register_concern": {"round": round_no, "statement": "concern"},
        "close_round": {"round": round_no},
        "extend_deadline": {
            "target": data.draw(st.sampled_from(["round", "review", "report_back"])),
            "round": round_no,
            "new_deadline": later,
            "reason": "r",
        },
        "plan_implementation": {
            "action_items": [item],
            "report_back_deadline": later,
            "reminder_before_seconds": 3600,
        },
        "report_progress": {
            "item_id": data.draw(st.sampled_from([None, "I1", "I2"])),
            "summary": "progress",
        },
        "complete_action_item": {"item_id": data.draw(st.sampled_from(["I1", "I2"]))},
        "raise_issue": {"title": "Issue"},
        "propose_issue_resolution": {
            "issue": data.draw(st.integers(1, 2)),
            "text": text,
            "deadline": later,
        },
        "request_meeting": {"reason": "r"},
        "complete": {},
        "withdraw": {},
        "supersede": {"superseded_by": "d-later"},
        "suspend": {"reason": "r"},
        "resume": {},
    }
    return by_kind[kind]


def _natural_next(state: DecisionState | None, data: st.DataObject) -> tuple[str, str]:
    """The kind and actor that move the decision along its usual path from `state`."""
    member = data.draw(st.sampled_from(MEMBERS))
    if state is None:
        return "submit_proposal", member
    status = state.status.value
    if status == "proposed":
        return "refer", CHAIR
    if status == "in_review":
        forwarded = state.review is not None and state.review.forwarded_revision is not None
        if forwarded:
            return "open_round", CHAIR
        return "complete_review", CHAIR
    if status == "under_consensus":
        return data.draw(
            st.sampled_from(
                [
                    "concur",
                    "concur",
                    "concur",
                    "break_silence",
                    "withdraw_objection",
                    "register_concern",
                ]
            )
        ), member
    if status == "adopted":
        return "plan_implementation", CHAIR
    if status == "in_implementation":
        return data.draw(
            st.sampled_from(
                [
                    ("report_progress", member),
                    ("complete_action_item", member),
                    ("complete_action_item", CHAIR),
                    ("raise_issue", member),
                    ("propose_issue_resolution", CHAIR),
                    ("concur", member),
                    ("complete", CHAIR),
                    ("tick", CHAIR),
                ]
            )
        )
    return "resume", CHAIR


def _principal(actor: str, data: st.DataObject) -> str:
    if actor in MEMBERS:
        return data.draw(st.sampled_from([f"member:{actor}", "member:AAA", "operator:sec"]))
    return "operator:sec"


def _check_invariants(
    before: DecisionState | None, events: list[Event], after: DecisionState
) -> None:
    for event in events:
        if event.type == "ConsensusReached":
            assert before is not None
            assert before.round(event.round).objections == {}, "adopted over an objection"
        if event.type == "SilenceBroken":
            assert event.member != CHAIR and event.actor != CHAIR
        envelope = {
            k: v for k, v in event.model_dump(mode="json").items() if k not in event_payload(event)
        }
        assert parse_event(envelope, event_payload(event)) == event
    assert DecisionState.model_validate_json(after.model_dump_json()) == after


def _random_run(
    data: st.DataObject, steps: tuple[int, int] = (5, 60)
) -> Iterator[tuple[DecisionState, datetime, list[Event]]]:
    """Random commands (and the procedure's own clock) on one decision: after each accepted
    command, the state, the instant and the events it produced."""
    state: DecisionState | None = None
    now = START
    for _ in range(data.draw(st.integers(*steps))):
        now += timedelta(hours=data.draw(st.integers(0, 48)))
        kind = data.draw(st.sampled_from((*KINDS, *["progress"] * 12)))
        actor = data.draw(st.sampled_from(ACTORS))
        if kind == "progress":
            kind, actor = _natural_next(state, data)
        if kind == "tick":
            if state is None or not due_commands(state):
                continue
            due = due_commands(state)[0]
            now = max(now, due.at)
            command: Any = due.command
        else:
            try:
                command = COMMAND_ADAPTER.validate_python(
                    {
                        "kind": kind,
                        "decision_id": "d-prop",
                        "actor": actor,
                        "recorded_by": _principal(actor, data),
                        **_fields(kind, data, state, now),
                    }
                )
            except ValueError:
                continue
        try:
            events = decide(state, command, now, SMALL)
        except ConcordError:
            continue
        before = state
        for produced in events:
            # Every command decide accepts is applied by evolve without error.
            state = evolve(state, produced)
        assert state is not None
        _check_invariants(before, events, state)
        yield state, now, events


def _through_json(log: list[Event]) -> list[Event]:
    """The events as the store keeps them: JSON bytes, read back into events."""
    return [EVENT_ADAPTER.validate_json(orjson.dumps(e.model_dump(mode="json"))) for e in log]


Answer = Literal["concurs", "objects"]
"""A member's answer standing in a round: "concurs" or "objects" (silent members have none)."""
CLOSING = {
    ev.DecisionCompleted: "completed",
    ev.DecisionWithdrawn: "withdrawn",
    ev.DecisionSuperseded: "superseded",
}


@dataclass
class RoundAsTold:
    members: frozenset[str]
    answers: dict[str, Answer] = field(default_factory=dict)
    outcome: str | None = None

    def standing(self) -> tuple[frozenset[str], frozenset[str], frozenset[str], str | None]:
        """The round's roster, who concurs, who objects, and its outcome (None while open)."""
        concurring = frozenset(m for m, a in self.answers.items() if a == "concurs")
        objecting = frozenset(m for m, a in self.answers.items() if a == "objects")
        return self.members, concurring, objecting, self.outcome


@dataclass
class DecisionAsTold:
    """A decision as a reader of its log tells it, from the lifecycle's table alone (DESIGN.md
    §2), not through `evolve`: where it stands, each round's answers (a member's last answer
    stands; a withdrawn objection leaves it silent) and outcome, the open issues."""

    status: str = ""
    before_suspension: str = ""
    version: int = 0
    rounds: dict[int, RoundAsTold] = field(default_factory=dict)
    on_issue: dict[int, int] = field(default_factory=dict)
    """Each issue round's issue."""
    open_issues: set[int] = field(default_factory=set)

    def read(self, event: Event) -> None:
        self.version += 1
        match event:
            case ev.ProposalSubmitted() | ev.ReturnedToProposer():
                self.status = "proposed"
            case ev.ReferredToPreparatoryCommittee():
                self.status = "in_review"
            case ev.ConsensusRoundOpened(round=number, members=members):
                self.rounds[number] = RoundAsTold(frozenset(members))
                self.status = "under_consensus"
            case ev.IssueResolutionProposed(round=number, issue=issue, members=members):
                self.rounds[number] = RoundAsTold(frozenset(members))
                self.on_issue[number] = issue
            case ev.ConcurrenceRecorded(round=number, member=member):
                self.rounds[number].answers[member] = "concurs"
            case ev.SilenceBroken(round=number, member=member):
                self.rounds[number].answers[member] = "objects"
            case ev.ObjectionWithdrawn(round=number, member=member):
                self.rounds[number].answers.pop(member, None)
            case ev.ConsensusReached(round=number, outcome=outcome):
                told = self.rounds[number]
                assert "objects" not in told.answers.values(), "agreed over an objection"
                told.outcome = outcome.value
            case ev.ConsensusFailed(round=number):
                self.rounds[number].outcome = "failed"
                if number not in self.on_issue:
                    self.status = "in_review"
            case ev.DecisionAdopted():
                self.status = "adopted"
            case ev.DecisionLapsed():
                self.status = "lapsed"
            case ev.ImplementationPlanned():
                self.status = "in_implementation"
            case ev.ImplementationIssueRaised(issue=issue):
                self.open_issues.add(issue)
            case ev.ImplementationIssueResolved(issue=issue):
                self.open_issues.discard(issue)
            case ev.DecisionSuspended():
                self.status, self.before_suspension = "suspended", self.status
            case ev.DecisionResumed():
                self.status = self.before_suspension
            case ev.DecisionCompleted() | ev.DecisionWithdrawn() | ev.DecisionSuperseded():
                self.status = CLOSING[type(event)]
                for told in self.rounds.values():
                    told.outcome = told.outcome or "cancelled"

    def unanimous_yet_open(self) -> list[int]:
        """Open rounds in which every member concurs: the procedure should have agreed them."""
        return [
            number
            for number, told in self.rounds.items()
            if told.outcome is None and all(told.answers.get(m) == "concurs" for m in told.members)
        ]

    def standing(self) -> tuple[object, ...]:
        rounds = {number: told.standing() for number, told in self.rounds.items()}
        return self.status, self.version, rounds, frozenset(self.open_issues)


def shown_by(state: DecisionState) -> tuple[object, ...]:
    """The same facts as `DecisionAsTold.standing`, as the decision's state shows them."""
    rounds = {
        r.number: (
            frozenset(r.members),
            frozenset(r.concurred),
            frozenset(r.objections),
            r.outcome.value if r.outcome else None,
        )
        for r in state.rounds
    }
    open_issues = frozenset(i.number for i in state.open_issues)
    return state.status.value, state.version, rounds, open_issues


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_command_sequences_leave_the_state_their_log_tells_and_the_stored_log_replays_it(
    data: st.DataObject,
) -> None:
    told = DecisionAsTold()
    log: list[Event] = []
    for reached, _, events in _random_run(data):
        for event in events:
            told.read(event)
        log.extend(events)
        assert shown_by(reached) == told.standing(), f"after {[e.type for e in events]}"
        assert told.unanimous_yet_open() == [], "every member concurred, yet the round is open"
    if not log:
        return
    label_run(f"reached {told.status}")
    stored = _through_json(log)
    assert stored == log, "the stored form reads back as the very events"
    replayed = replay(stored)
    assert replayed is not None and shown_by(replayed) == told.standing()
    assert [e.stream_version for e in log] == list(range(1, len(log) + 1))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_history_with_an_event_left_out_or_repeated_is_invalid_history_or_still_a_history(
    data: st.DataObject,
) -> None:
    log = [e for _, _, events in _random_run(data, (8, 40)) for e in events]
    if len(log) < 3:
        return
    at = data.draw(st.integers(1, len(log) - 1))
    if data.draw(st.booleans()):
        broken = [*log[:at], *log[at + 1 :]]
    else:
        broken = [*log[: at + 1], log[at], *log[at + 1 :]]
    renumbered = [e.model_copy(update={"stream_version": v}) for v, e in enumerate(broken, 1)]
    try:
        replay(renumbered)
    except InvalidHistory as refused:
        assert "cannot follow" in refused.message or "version" in refused.message
        label_run("refused as InvalidHistory")
    # Any other exception (an assert, a Refusal, a ValueError) fails the property.


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_chair_can_never_break_silence_in_any_state_with_an_open_round(
    data: st.DataObject,
) -> None:
    for state, now, _ in _random_run(data, (10, 60)):
        for r in state.open_rounds:
            objection = COMMAND_ADAPTER.validate_python(
                {
                    "kind": "break_silence",
                    "decision_id": "d-prop",
                    "actor": CHAIR,
                    "recorded_by": data.draw(st.sampled_from(["operator:sec", "operator:chair"])),
                    "round": r.number,
                    "text_hash": r.text_hash,
                    "reasons": "objection",
                }
            )
            label_run(f"open round in {state.status.value}")
            try:
                decide(state, objection, now, SMALL)
            except Refusal as refusal:
                assert refusal.rule in (Rule.CHAIR_CANNOT_BLOCK, Rule.WRONG_ROLE, Rule.WRONG_STATE)
            else:
                raise AssertionError(f"the chair broke silence in round {r.number}")
