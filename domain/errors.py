"""The one error hierarchy of Concord; every adapter maps it to exit codes or HTTP statuses.

ConcordError
├── InvalidInput(field, message)   malformed input: exit 2, HTTP 422
├── Refusal(rule, message)         refused by the rules of the procedure: exit 3, HTTP 409
├── NotFound(message)              no such decision, member or event: exit 4, HTTP 404
├── Conflict(message)              a concurrent writer won the race: retry (HTTP 409)
└── Unavailable(message)           a service cannot be reached: exit 5, HTTP 503
"""

from __future__ import annotations

from enum import StrEnum


class Rule(StrEnum):
    """Every rule of the procedure a command can break, by a stable code."""

    NO_SUCH_DECISION = "no_such_decision"
    DECISION_EXISTS = "decision_exists"
    NOT_ON_ROSTER = "not_on_roster"
    NOT_ON_ROUND_ROSTER = "not_on_round_roster"
    WRONG_ROLE = "wrong_role"
    ACTING_FOR_ANOTHER = "acting_for_another"
    WRONG_STATE = "wrong_state"
    DEADLINE_PASSED = "deadline_passed"
    DEADLINE_NOT_REACHED = "deadline_not_reached"
    DEADLINE_NOT_LATER = "deadline_not_later"
    DEADLINE_IN_PAST = "deadline_in_past"
    REASONS_REQUIRED = "reasons_required"
    STALE_TEXT = "stale_text"
    TEXT_UNCHANGED = "text_unchanged"
    TEXT_ALREADY_FAILED = "text_already_failed"
    REVIEW_NOT_FORWARDED = "review_not_forwarded"
    ALREADY_CONCURRED = "already_concurred"
    ALREADY_OBJECTING = "already_objecting"
    NOT_OBJECTING = "not_objecting"
    NO_OPEN_ROUND = "no_open_round"
    ROUND_OPEN = "round_open"
    NO_SUCH_ROUND = "no_such_round"
    NO_STANDING_OBJECTION = "no_standing_objection"
    CHAIR_CANNOT_BLOCK = "chair_cannot_block"
    NOT_PROPOSER = "not_proposer"
    NO_SUCH_ITEM = "no_such_item"
    ITEM_NOT_ASSIGNED = "item_not_assigned"
    ITEM_COMPLETED = "item_completed"
    ITEMS_OUTSTANDING = "items_outstanding"
    NO_SUCH_ISSUE = "no_such_issue"
    ISSUE_RESOLVED = "issue_resolved"
    ISSUES_OPEN = "issues_open"
    ALREADY_REMINDED = "already_reminded"
    NOTHING_TO_REMIND = "nothing_to_remind"
    REPORT_RECEIVED = "report_received"
    ALREADY_FLAGGED = "already_flagged"
    SELF_SUPERSESSION = "self_supersession"
    NOT_SUSPENDED = "not_suspended"


class ConcordError(Exception):
    """Base of every error Concord raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ConcordError):
    """Input that breaks a rule of form: names the field and the rule."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class Refusal(ConcordError):
    """A well-formed command the rules of the procedure do not allow now."""

    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(message)
        self.rule = rule


class NotFound(ConcordError):
    """Something asked for does not exist."""


class Conflict(ConcordError):
    """Another writer changed the same stream first; nothing was written."""


class InvalidHistory(ConcordError):
    """Events that cannot follow one another: a corrupted or foreign history."""


class Unavailable(ConcordError):
    """A service Concord needs cannot be reached."""
