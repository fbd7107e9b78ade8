"""decide(state, command, now) -> events: the rules of the procedure; a refusal records nothing."""

from __future__ import annotations

from datetime import datetime

from domain import clock, consensus, implementation
from domain import commands as cmd
from domain import events as ev
from domain.checks import Decision
from domain.consensus import Handler
from domain.errors import InvalidInput, Refusal, Rule
from domain.evolve import evolve, replay
from domain.nrc import NRC_ROSTERS
from domain.roster import RosterBook
from domain.state import DecisionState
from domain.values import SYSTEM, TERMINAL, Status, principal_id, principal_role

__all__ = ["decide", "decide_and_evolve", "evolve", "replay"]

_HANDLERS: dict[type[cmd.CommandBase], Handler] = {
    **consensus.HANDLERS,
    **implementation.HANDLERS,
    **clock.HANDLERS,
}

_WHILE_SUSPENDED = (
    cmd.ResumeDecision,
    cmd.RequestMeeting,
    cmd.WithdrawDecision,
    cmd.SupersedeDecision,
)


def decide(
    state: DecisionState | None,
    command: cmd.CommandBase,
    now: datetime,
    rosters: RosterBook = NRC_ROSTERS,
) -> list[ev.Event]:
    """The events `command` produces on `state` at `now`; raises Refusal naming the rule broken."""
    if now.tzinfo is None:
        raise InvalidInput("now", "must carry a timezone")
    d = Decision(state, command, now, rosters)
    _check_principal(d)
    if state is None:
        if not isinstance(command, cmd.SubmitProposal):
            raise Refusal(Rule.NO_SUCH_DECISION, f"decision {command.decision_id} does not exist")
    else:
        _check_open(d, state)
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise InvalidInput("kind", f"unknown command {type(command).__name__}")
    handler(command, d)
    return d.events


def decide_and_evolve(
    state: DecisionState | None,
    command: cmd.CommandBase,
    now: datetime,
    rosters: RosterBook = NRC_ROSTERS,
) -> tuple[DecisionState, list[ev.Event]]:
    """Decide `command`, then apply its events: the new state and the events that made it."""
    events = decide(state, command, now, rosters)
    for event in events:
        state = evolve(state, event)
    assert state is not None
    return state, events


def _check_principal(d: Decision) -> None:
    role, who = principal_role(d.command.recorded_by), principal_id(d.command.recorded_by)
    if role == "member" and who != d.actor:
        raise Refusal(
            Rule.ACTING_FOR_ANOTHER, f"member {who} may act only in its own name, not as {d.actor}"
        )
    if (d.actor == SYSTEM) != (role == "system"):
        raise Refusal(Rule.WRONG_ROLE, "only Concord's own clock acts as system")


def _check_open(d: Decision, state: DecisionState) -> None:
    if isinstance(d.command, cmd.SubmitProposal):
        raise Refusal(Rule.DECISION_EXISTS, f"decision {state.decision_id} already exists")
    superseding_completed = state.status is Status.COMPLETED and isinstance(
        d.command, cmd.SupersedeDecision
    )
    if state.status in TERMINAL and not superseding_completed:
        raise Refusal(
            Rule.WRONG_STATE,
            f"decision {state.decision_id} is {state.status.value}; it takes no further commands",
        )
    if state.status is Status.SUSPENDED and not isinstance(d.command, _WHILE_SUSPENDED):
        raise Refusal(
            Rule.WRONG_STATE,
            f"decision {state.decision_id} is suspended; the chair must resume it first",
        )
