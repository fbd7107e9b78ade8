"""What a decision's events say that its state does not keep: the resolution each issue's round
was opened on, the objections withdrawn after they were lodged, and who recorded each answer,
signed or not."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Final

from pydantic import AwareDatetime, Field

from domain import events as ev
from domain.state import ConsensusRound, DecisionState
from domain.values import Frozen


class WithdrawnObjection(Frozen):
    """An objection a member lodged in a round and later withdrew: both were said."""

    round: int
    member: str
    reasons: str
    objected_at: AwareDatetime
    withdrawn_at: AwareDatetime


class AnswerGiven(Frozen):
    """A member's answer in a round as its event records it: who recorded it, and whether the
    member's key signed it (whether the signature holds is the audit's to check)."""

    round: int
    member: str
    type: str
    recorded_by: str
    key_id: str | None = None
    """The key that signed it; None when unsigned."""
    key_flagged: bool = False
    """The key was put in force on the chair's authority, not by the member's earlier key."""
    at: AwareDatetime | None = None
    """When it was recorded."""

    @property
    def on_behalf(self) -> bool:
        """Recorded by someone other than the member itself (the secretariat)."""
        return self.recorded_by != f"member:{self.member}"

    def mark(self) -> str:
        """How a list of answers shows it: signed, or unsigned and recorded by whom when the
        member did not record it itself; nothing for an unsigned answer in its own name."""
        if self.key_id is not None:
            return "signed, by a key on the chair's authority" if self.key_flagged else "signed"
        return f"unsigned, recorded by {self.recorded_by}" if self.on_behalf else ""


class Transcript(Frozen):
    """The words a decision's state forgets, read back from its events."""

    resolutions: dict[int, str] = Field(default_factory=dict)
    """The resolution text each implementation issue's round was opened on, by round number
    (the state keeps its hash alone)."""
    withdrawn: tuple[WithdrawnObjection, ...] = ()
    answers: tuple[AnswerGiven, ...] = ()
    """Every answer in a round, in order."""

    def answer(self, round_: int, member: str, *types: str) -> AnswerGiven | None:
        """The member's last answer in the round of one of `types`, if any."""
        found = None
        for given in self.answers:
            if (given.round, given.member) == (round_, member) and given.type in types:
                found = given
        return found

    def text_of(self, state: DecisionState, round_: ConsensusRound) -> str | None:
        """The text `round_` was opened on: the revision of the decision's text it fixed, or
        the resolution it proposed; None when the events holding it were not read."""
        if round_.issue is not None:
            return self.resolutions.get(round_.number)
        if round_.revision is not None and 1 <= round_.revision <= len(state.revisions):
            return state.revisions[round_.revision - 1].text
        return None

    def withdrawn_in(self, round_: ConsensusRound) -> tuple[WithdrawnObjection, ...]:
        return tuple(w for w in self.withdrawn if w.round == round_.number)


ROUND_ANSWERS: Final = (
    ev.ConcurrenceRecorded,
    ev.SilenceBroken,
    ev.ObjectionWithdrawn,
    ev.ConcernRegistered,
)


def transcript(events: Iterable[ev.Event], flagged: Collection[str] = ()) -> Transcript:
    """The transcript of a decision's events, in order; `flagged`: the ids of the keys put in
    force on the chair's authority (domain.keys), which its answers' marks name."""
    resolutions: dict[int, str] = {}
    standing: dict[tuple[int, str], ev.SilenceBroken] = {}
    withdrawn: list[WithdrawnObjection] = []
    answers: list[AnswerGiven] = []
    for event in events:
        if isinstance(
            event,
            ev.ConcurrenceRecorded
            | ev.SilenceBroken
            | ev.ObjectionWithdrawn
            | ev.ConcernRegistered,
        ):
            answers.append(
                AnswerGiven(
                    round=event.round,
                    member=event.member,
                    type=event.type,
                    recorded_by=event.recorded_by,
                    key_id=event.signature.key_id if event.signature else None,
                    key_flagged=bool(event.signature and event.signature.key_id in flagged),
                    at=event.occurred_at,
                )
            )
        if isinstance(event, ev.IssueResolutionProposed):
            resolutions[event.round] = event.text
        elif isinstance(event, ev.SilenceBroken):
            standing[(event.round, event.member)] = event
        elif isinstance(event, ev.ConcurrenceRecorded):
            # A concurrence replaces the objection it follows (as evolve has it): not a withdrawal.
            standing.pop((event.round, event.member), None)
        elif isinstance(event, ev.ObjectionWithdrawn):
            objection = standing.pop((event.round, event.member), None)
            if objection is not None:
                withdrawn.append(
                    WithdrawnObjection(
                        round=event.round,
                        member=event.member,
                        reasons=objection.reasons,
                        objected_at=objection.occurred_at,
                        withdrawn_at=event.occurred_at,
                    )
                )
    return Transcript(resolutions=resolutions, withdrawn=tuple(withdrawn), answers=tuple(answers))
