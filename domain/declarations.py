"""What each command is to the people who give it, declared once, beside the commands' classes:
who gives it, its verb on the command line with its help and example, its path in the HTTP API,
its form in the portal, whether it answers a round (and so is bound to the text the member
read) and what of it a member's key signs. The CLI's commands, the API's routes, the portal's
forms and the lists the adapters kept by hand are derived from these declarations; a command's
fields, their types and limits are its class's (`domain.commands`), found by its `kind`.

This module imports no model, so that `concord --help` lists the commands without building one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final


class Giver(StrEnum):
    """Who gives a command."""

    MEMBER = "member"
    """A member state in its own name (the secretariat may record it on the member's behalf)."""
    CHAIR = "chair"
    """The chair, through the secretariat: an operator's token gives it, a member's never."""


@dataclass(frozen=True)
class Cli:
    """A command's own command on the command line, its options derived from its class's
    fields (each `--<field>` unless cli.parsing.FLAGS names it otherwise)."""

    verb: str
    """`concord <verb>`."""
    help: str
    """Its help; the first paragraph is its help line in `concord --help`."""
    example: str
    fields: dict[str, str] = field(default_factory=dict)
    """What a field means, said in its option's help."""

    @property
    def help_line(self) -> str:
        return " ".join(self.help.split("\n\n")[0].split())


@dataclass(frozen=True)
class Form:
    """A command's form in the portal: the action it posts to, the fields it takes (the
    command's other fields take their defaults)."""

    action: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Signed:
    """A member's answer its own key may sign (domain.statements): the event that records it,
    and that event's fields the signature covers, each as the command gave it."""

    event: str
    """The type of the event that records the answer and its signature."""
    fields: tuple[str, ...]
    """The fields signed, by name: the command's and its event's alike (a field left empty is
    left out of the statement)."""


@dataclass(frozen=True)
class Declared:
    """One command as the adapters offer it."""

    kind: str
    """The command's `kind`: its class in domain.commands."""
    given_by: Giver
    summary: str
    """Its line in the API's schema."""
    path: str | None = None
    """`POST /decisions/{id}<path>`; None when the API offers it otherwise."""
    answers_round: bool = False
    """It answers a round: its `round` is, unless named, the one awaiting the member."""
    bound_to_text: bool = False
    """It is bound to the text the member read: its `text_hash` is, unless given, the round's."""
    cli: Cli | None = None
    """Its command on the command line, derived; None when the CLI gives it with a function of
    its own (its options parsed its own way: durations, text files, a plan's items)."""
    form: Form | None = None
    """Its form in the portal; None when the portal does not give it."""
    signed: Signed | None = None
    """How the member's key signs it; None when it is not an answer a key signs."""


ITEM: Final = "Action item id."

DECLARED: Final[tuple[Declared, ...]] = (
    # A member's answers, reports and requests, each in its own name.
    Declared(
        "concur",
        Giver.MEMBER,
        "Concur in a round's text (bound by its hash)",
        "/concurrences",
        answers_round=True,
        bound_to_text=True,
        cli=Cli("concur", "Concur with the round's text.", "concord concur d-1 --as USA"),
        form=Form("concur", ("round", "text_hash")),
        signed=Signed("ConcurrenceRecorded", ("round", "text_hash")),
    ),
    Declared(
        "break_silence",
        Giver.MEMBER,
        "Object: break the silence, with reasons",
        "/objections",
        answers_round=True,
        bound_to_text=True,
        cli=Cli(
            "object",
            "Break silence: object, with reasons.",
            'concord object d-1 --as RUS --reasons "Too narrow"',
            {"reasons": "Why the member objects."},
        ),
        form=Form("object", ("round", "text_hash", "reasons")),
        signed=Signed("SilenceBroken", ("round", "text_hash", "reasons")),
    ),
    Declared(
        "withdraw_objection",
        Giver.MEMBER,
        "Withdraw an objection",
        "/objections/withdrawal",
        answers_round=True,
        cli=Cli(
            "withdraw-objection",
            "Withdraw one's objection while the round is open.",
            "concord withdraw-objection d-1 --as RUS",
        ),
        form=Form("withdraw", ("round",)),
        signed=Signed("ObjectionWithdrawn", ("round",)),
    ),
    Declared(
        "register_concern",
        Giver.MEMBER,
        "Register a concern without objecting",
        "/concerns",
        answers_round=True,
        cli=Cli(
            "concern",
            "Register a non-blocking concern.",
            'concord concern d-1 --as NOR --statement "Human rights"',
            {"statement": "The concern, attached to adoption."},
        ),
        form=Form("concern", ("round", "statement")),
        signed=Signed("ConcernRegistered", ("round", "statement")),
    ),
    Declared(
        "report_progress",
        Giver.MEMBER,
        "Report progress on the plan",
        "/progress-reports",
        cli=Cli(
            "report",
            "Report progress (by the monitoring body: the report back).",
            'concord report d-1 --as RUS --item A2 --summary "Data exchanged"',
            {"item_id": ITEM, "summary": "What was done."},
        ),
        form=Form("progress", ("item_id", "summary")),
        signed=Signed("ProgressReported", ("item_id", "summary")),
    ),
    Declared(
        "complete_action_item",
        Giver.MEMBER,
        "Record an action item completed",
        "/action-items/{item_id}/completion",
        cli=Cli(
            "complete-item",
            "Mark an action item completed.",
            "concord complete-item d-1 --as RUS --item A2",
            {"item_id": ITEM},
        ),
    ),
    Declared(
        "raise_issue",
        Giver.MEMBER,
        "Raise an implementation issue",
        "/implementation-issues",
        cli=Cli(
            "raise-issue",
            "Raise an implementation issue.",
            'concord raise-issue d-1 --as POL --title "Data exchange delayed"',
            {"title": "The issue in a line."},
        ),
        form=Form("issue", ("title", "description")),
        signed=Signed("ImplementationIssueRaised", ("title", "description")),
    ),
    Declared(
        "request_meeting",
        Giver.MEMBER,
        "Request an extraordinary meeting",
        "/meeting-requests",
        cli=Cli(
            "request-meeting",
            "Request an extraordinary meeting.",
            'concord request-meeting d-1 --as RUS --reason "Urgent threat"',
            {
                "reason": "Why the Council must meet.",
                "level": "The level the council is asked to meet at (default: the decision's "
                "body's level).",
            },
        ),
        form=Form("meeting", ("reason",)),
        signed=Signed("ExtraordinaryMeetingRequested", ("level", "reason")),
    ),
    Declared(
        "withdraw",
        Giver.MEMBER,
        "Withdraw a proposal (its proposer)",
        "/withdrawal",
        cli=Cli(
            "withdraw",
            "Withdraw a proposal before adoption (its proposer).",
            "concord withdraw d-1 --as POL",
        ),
    ),
    Declared("amend", Giver.MEMBER, "Amend the proposal's text", "/amendments"),
    # The chair's commands, given through the secretariat.
    Declared(
        "refer",
        Giver.CHAIR,
        "Refer to the Preparatory Committee",
        "/referral",
        form=Form("refer"),
    ),
    Declared(
        "complete_review",
        Giver.CHAIR,
        "Record the committee's review",
        "/review",
        form=Form("review", ("outcome", "reasons")),
    ),
    Declared(
        "open_round",
        Giver.CHAIR,
        "Open a round under the silence procedure",
        "/rounds",
        form=Form("open-round", ("deadline",)),
    ),
    Declared(
        "close_round",
        Giver.CHAIR,
        "Close a blocked round",
        "/rounds/{round}/closure",
        form=Form("close-round", ("round",)),
    ),
    Declared(
        "extend_deadline",
        Giver.CHAIR,
        "Extend a deadline",
        "/deadline-extensions",
        form=Form("extend", ("target", "round", "new_deadline", "reason")),
    ),
    Declared(
        "send_reminders",
        Giver.CHAIR,
        "Remind the silent members",
        "/reminders",
        form=Form("remind", ("target", "round")),
    ),
    Declared(
        "plan_implementation",
        Giver.CHAIR,
        "Plan the implementation",
        "/implementation-plan",
        form=Form("plan", ("action_items", "report_back_deadline")),
    ),
    Declared(
        "propose_issue_resolution",
        Giver.CHAIR,
        "Put an issue's resolution under silence",
        "/implementation-issues/{issue}/resolution",
    ),
    Declared(
        "complete",
        Giver.CHAIR,
        "Record the decision completed",
        "/completion",
        form=Form("complete", ("summary",)),
    ),
    Declared(
        "supersede",
        Giver.CHAIR,
        "Record that a later, adopted decision supersedes this one (both streams)",
        form=Form("supersede", ("superseded_by", "reason")),
    ),
    Declared(
        "suspend",
        Giver.CHAIR,
        "Suspend the decision",
        "/suspension",
        form=Form("suspend", ("reason",)),
    ),
    Declared(
        "resume",
        Giver.CHAIR,
        "Resume the decision",
        "/resumption",
        form=Form("resume", ("reason",)),
    ),
)
"""Every command a person gives, in the order the adapters list them. The commands the
procedure gives itself (a supersession's other side, a sitting's agenda item, a missed
deadline's flag) are not declared; nor is a proposal, which the CLI and the API take with the
new decision's id."""

BY_KIND: Final = {declared.kind: declared for declared in DECLARED}
SIGNED_BY_EVENT: Final = {d.signed.event: d for d in DECLARED if d.signed is not None}
"""The answers a member's key signs, by the type of the event that records each."""
