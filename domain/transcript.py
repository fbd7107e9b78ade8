"""What a decision's events say that its state does not keep: the resolution each issue's round
was opened on, and the objections withdrawn after they were lodged."""

from __future__ import annotations

from collections.abc import Iterable

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


class Transcript(Frozen):
    """The words a decision's state forgets, read back from its events."""

    resolutions: dict[int, str] = Field(default_factory=dict)
    """The resolution text each implementation issue's round was opened on, by round number
    (the state keeps its hash alone)."""
    withdrawn: tuple[WithdrawnObjection, ...] = ()

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


def transcript(events: Iterable[ev.Event]) -> Transcript:
    """The transcript of a decision's events, in order."""
    resolutions: dict[int, str] = {}
    standing: dict[tuple[int, str], ev.SilenceBroken] = {}
    withdrawn: list[WithdrawnObjection] = []
    for event in events:
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
    return Transcript(resolutions=resolutions, withdrawn=tuple(withdrawn))
