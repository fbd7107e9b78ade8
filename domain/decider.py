"""decide(state, command, now) -> events: the rules of the procedure; a refusal records nothing."""

from __future__ import annotations

from datetime import datetime

from domain import clock, consensus, implementation, lifecycle, proposal
from domain import commands as cmd
from domain import events as ev
from domain.checks import CURRENT_PRACTICE, Deciding, Practice
from domain.declarations import BY_KIND
from domain.errors import InvalidInput, Refusal, Rule
from domain.evolve import evolve, replay
from domain.nrc import NRC_ROSTERS
from domain.roster import RosterBook
from domain.state import DecisionState
from domain.statements import signed_fields
from domain.values import SYSTEM, TERMINAL, Status, principal_id, principal_role

__all__ = ["CURRENT_PRACTICE", "Practice", "decide", "evolve", "replay"]

_WHILE_SUSPENDED = (
    cmd.ResumeDecision,
    cmd.RequestMeeting,
    cmd.WithdrawDecision,
    cmd.SupersedeDecision,
    cmd.RecordSupersession,
    cmd.ScheduleAgendaItem,
)
_STILL_WHILE_SUSPENDED = (
    cmd.ResumeDecision,
    cmd.RequestMeeting,
    cmd.WithdrawDecision,
    cmd.ScheduleAgendaItem,
)
"""What a suspended decision takes since 2026-12-06: supersession waits for the chair's resume."""


def decide(
    state: DecisionState | None,
    command: cmd.CommandBase,
    now: datetime,
    rosters: RosterBook = NRC_ROSTERS,
    *,
    practice: Practice = CURRENT_PRACTICE,
) -> list[ev.Event]:
    """The events `command` produces on `state` at `now`; raises Refusal naming the rule broken.

    `practice` names the amendments the decision follows: one started before an amendment is
    decided as it was then, so its stored history replays.
    """
    if now.tzinfo is None:
        raise InvalidInput("now", "must carry a timezone")
    d = Deciding(state, command, now, rosters, practice)
    _check_principal(d)
    if state is None:
        if not isinstance(command, cmd.SubmitProposal):
            raise Refusal(
                Rule.NO_SUCH_DECISION,
                f"decision {command.decision_id} does not exist",
                decision=command.decision_id,
            )
    else:
        _check_open(d, state)
        _check_signed(d)
    _decide_by_kind(command, d)
    _record_signature(d)
    return d.events


def _check_signed(d: Deciding) -> None:
    """An answer the council requires its members to sign is refused unsigned, whoever
    records it: the secretariat cannot give it in the member's name without the member's key.
    (Whether a signature is the member's is checked against the key registry, outside.)"""
    c = d.command
    if not isinstance(c, cmd.MemberAnswer) or c.signature is not None:
        return
    kind = type(c).model_fields["kind"].default
    if kind in d.roster().signed_answers:
        raise Refusal(
            Rule.SIGNATURE_REQUIRED,
            f"the council requires a {kind} to be signed by its member's own key; "
            f"{d.actor}'s is unsigned",
            kind=kind,
            member=d.actor,
        )


def _record_signature(d: Deciding) -> None:
    """A signed answer's event records its signature. The signature covers the answer as the
    member gave it, so what the event records of the signed fields must be that, value for
    value: else the recorded answer would not be what its member signed (InvalidInput)."""
    c = d.command
    if not isinstance(c, cmd.MemberAnswer) or c.signature is None:
        return
    signed = BY_KIND[type(c).model_fields["kind"].default].signed
    assert signed is not None, f"{type(c).__name__} is a member's answer with no signed fields"
    for at, event in enumerate(d.events):
        if event.type != signed.event:
            continue
        said = signed_fields(signed.fields, c.model_dump(mode="json"))
        recorded = signed_fields(signed.fields, event.model_dump(mode="json"))
        if said != recorded:
            differing = sorted(f for f in {*said, *recorded} if said.get(f) != recorded.get(f))
            raise InvalidInput(
                "signature",
                f"covers the answer as given, and its record would differ in "
                f"{', '.join(differing)}: sign the answer with every field it records "
                "(a meeting request names its level)",
            )
        d.events[at] = event.model_copy(update={"signature": c.signature})
        return
    raise AssertionError(f"{type(c).__name__} recorded no {signed.event}")


def _decide_by_kind(c: cmd.CommandBase, d: Deciding) -> None:
    """Hand `c` to the rule for its kind; each case narrows `c` to the type that rule takes."""
    match c:
        case cmd.SubmitProposal():
            proposal.submit_proposal(c, d)
        case cmd.ReferToPreparatoryCommittee():
            proposal.refer_to_preparatory_committee(c, d)
        case cmd.AmendProposal():
            proposal.amend_proposal(c, d)
        case cmd.CompleteReview():
            proposal.complete_review(c, d)
        case cmd.OpenRound():
            consensus.open_round(c, d)
        case cmd.Concur():
            consensus.concur(c, d)
        case cmd.BreakSilence():
            consensus.break_silence(c, d)
        case cmd.WithdrawObjection():
            consensus.withdraw_objection(c, d)
        case cmd.RegisterConcern():
            consensus.register_concern(c, d)
        case cmd.ExtendDeadline():
            consensus.extend_deadline(c, d)
        case cmd.CloseRound():
            consensus.close_round(c, d)
        case cmd.SendReminders():
            clock.send_reminders(c, d)
        case cmd.FlagMissedDeadline():
            clock.flag_missed_deadline(c, d)
        case cmd.PlanImplementation():
            implementation.plan_implementation(c, d)
        case cmd.ReportProgress():
            implementation.report_progress(c, d)
        case cmd.CompleteActionItem():
            implementation.complete_action_item(c, d)
        case cmd.RaiseIssue():
            implementation.raise_issue(c, d)
        case cmd.ProposeIssueResolution():
            implementation.propose_issue_resolution(c, d)
        case cmd.RequestMeeting():
            lifecycle.request_meeting(c, d)
        case cmd.CompleteDecision():
            lifecycle.complete_decision(c, d)
        case cmd.WithdrawDecision():
            lifecycle.withdraw_decision(c, d)
        case cmd.SupersedeDecision():
            lifecycle.supersede_decision(c, d)
        case cmd.RecordSupersession():
            lifecycle.record_supersession(c, d)
        case cmd.SuspendDecision():
            lifecycle.suspend_decision(c, d)
        case cmd.ResumeDecision():
            lifecycle.resume_decision(c, d)
        case cmd.ScheduleAgendaItem():
            lifecycle.schedule_agenda_item(c, d)
        case _:
            raise InvalidInput("kind", f"unknown command {type(c).__name__}")


def _check_principal(d: Deciding) -> None:
    role, who = principal_role(d.command.recorded_by), principal_id(d.command.recorded_by)
    if role == "member" and who != d.actor:
        raise Refusal(
            Rule.ACTING_FOR_ANOTHER,
            f"member {who} may act only in its own name, not as {d.actor}",
            member=who,
            actor=d.actor,
        )
    if (d.actor == SYSTEM) != (role == "system"):
        raise Refusal(Rule.WRONG_ROLE, "only Concord's clock acts as system", actor=d.actor)


def _check_open(d: Deciding, state: DecisionState) -> None:
    if isinstance(d.command, cmd.SubmitProposal):
        raise Refusal(
            Rule.DECISION_EXISTS,
            f"decision {state.decision_id} already exists",
            decision=state.decision_id,
        )
    # A decision taken and done can still be superseded. Whether a closed decision can be a
    # successor is the supersession's own rule to say: one completed (or superseded in turn)
    # still records what it supersedes, one that lapsed or was withdrawn never was adopted.
    superseding_completed = state.status is Status.COMPLETED and isinstance(
        d.command, cmd.SupersedeDecision
    )
    recording_supersession = isinstance(d.command, cmd.RecordSupersession)
    if state.status in TERMINAL and not (superseding_completed or recording_supersession):
        raise Refusal(
            Rule.WRONG_STATE,
            f"decision {state.decision_id} is {state.status.value}; it takes no further commands",
            decision=state.decision_id,
            status=state.status.value,
        )
    allowed = _WHILE_SUSPENDED if not d.practice.amended_2026_12_06 else _STILL_WHILE_SUSPENDED
    if state.status is Status.SUSPENDED and not isinstance(d.command, allowed):
        raise Refusal(
            Rule.WRONG_STATE,
            f"decision {state.decision_id} is suspended; the chair must resume it first",
            decision=state.decision_id,
            status=state.status.value,
        )
