"""A small driver that runs commands through decide/evolve with a controllable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.commands import command_of
from domain.decider import CURRENT_PRACTICE, Practice, decide, evolve
from domain.errors import Refusal, Rule
from domain.events import Event
from domain.nrc import NRC_ROSTERS
from domain.roster import CHAIR, RosterBook
from domain.state import DecisionState

START = datetime(2004, 12, 1, 9, 0, tzinfo=UTC)
TEXT = "The NATO-Russia Council adopts an Action Plan on Terrorism."


class Scenario:
    """One decision driven command by command; every accepted event is applied at once."""

    def __init__(
        self,
        decision_id: str = "d-terrorism",
        now: datetime = START,
        rosters: RosterBook = NRC_ROSTERS,
        practice: Practice = CURRENT_PRACTICE,
    ) -> None:
        self.decision_id = decision_id
        self.now = now
        self.rosters = rosters
        self.practice = practice
        self.state: DecisionState | None = None
        self.events: list[Event] = []

    @property
    def s(self) -> DecisionState:
        assert self.state is not None
        return self.state

    def command(self, kind: str, actor: str, principal: str | None = None, **fields: Any) -> Any:
        return command_of(kind, self.decision_id, actor, principal, **fields)

    def do(self, kind: str, actor: str, principal: str | None = None, **fields: Any) -> list[Any]:
        return self.execute(self.command(kind, actor, principal, **fields))

    def execute(self, command: Any) -> list[Any]:
        produced = decide(self.state, command, self.now, self.rosters, practice=self.practice)
        for event in produced:
            self.state = evolve(self.state, event)
        self.events.extend(produced)
        return produced

    def refused(
        self, rule: Rule, kind: str, actor: str, principal: str | None = None, **fields: Any
    ) -> Refusal:
        before = self.state
        with pytest.raises(Refusal) as caught:
            self.do(kind, actor, principal, **fields)
        assert caught.value.rule is rule, caught.value.message
        assert self.state is before
        return caught.value

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def later(self, **delta: float) -> str:
        return (self.now + timedelta(**delta)).isoformat()

    # --- the usual path, step by step -----------------------------------------------------

    def proposed(self, proposer: str = "POL", **fields: Any) -> Scenario:
        defaults = {
            "title": "Action Plan on Terrorism",
            "text": TEXT,
            "area": "struggle_against_terrorism",
        }
        self.do("submit_proposal", proposer, **{**defaults, **fields})
        return self

    def forwarded(self) -> Scenario:
        if self.state is None:
            self.proposed()
        self.do("refer", CHAIR)
        self.do("complete_review", CHAIR, outcome="forward")
        return self

    def round_open(self, days: float = 7, **fields: Any) -> Scenario:
        if self.state is None or self.s.review is None:
            self.forwarded()
        self.do("open_round", CHAIR, deadline=self.later(days=days), **fields)
        return self

    def answer(self, round_number: int, members: list[str] | tuple[str, ...]) -> None:
        text_hash = self.s.round(round_number).text_hash
        for member in members:
            self.do("concur", member, round=round_number, text_hash=text_hash)

    def adopted(self) -> Scenario:
        self.round_open()
        r = self.s.rounds[-1]
        self.answer(r.number, r.members)
        return self

    def planned(self, **fields: Any) -> Scenario:
        self.adopted()
        items = fields.pop(
            "action_items",
            [
                {
                    "item_id": "A1",
                    "description": "Joint threat assessment",
                    "assignee": {"kind": "all_members"},
                },
                {
                    "item_id": "A2",
                    "description": "Exchange of information on financing",
                    "assignee": {"kind": "member", "code": "RUS"},
                },
                {
                    "item_id": "A3",
                    "description": "Monitor implementation",
                    "assignee": {"kind": "body", "code": "PC"},
                },
            ],
        )
        self.do(
            "plan_implementation",
            CHAIR,
            action_items=items,
            report_back_deadline=self.later(days=180),
            **fields,
        )
        return self
