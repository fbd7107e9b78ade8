"""The one error hierarchy of Concord: each class carries its exit code, HTTP status and label.

ConcordError                                  exit  HTTP  label
├── InvalidInput(field, reason)   malformed input    2   422   invalid input
├── Refusal(rule, message)        refused by a rule  3   409   refused (<rule>)
├── NotFound(message)             no such thing      4   404   not found
├── Unavailable(message)          service down       5   503   unavailable
├── Conflict(message)             a concurrent       6   409   conflict
│                                 writer won: retry
├── InvalidHistory(message)       stored events      1   500   invalid history
│   │                             that cannot follow
│   └── AuditFailed(message)      an audit's finding 1   500   audit failed
└── Fault(message)                Concord failed     70  500   failed
                                  (a defect, a failed
                                  workflow); nothing
                                  was refused

Adapters read `exit_code`, `http_status` and `line()`; nothing else maps errors. Across
Temporal an error travels as its class name and `details()`, and is rebuilt with
`from_details` (see `workflows/failures.py`): the same class, rule, field and message.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import ClassVar, Final, Self


class Rule(StrEnum):
    """Every rule of the procedure a command can break, by a stable code."""

    NO_SUCH_DECISION = "no_such_decision"
    DECISION_EXISTS = "decision_exists"
    NOT_ON_ROSTER = "not_on_roster"
    COUNCIL_CHANGE = "council_change"
    ALREADY_ON_AGENDA = "already_on_agenda"
    NOT_ON_ROUND_ROSTER = "not_on_round_roster"
    WRONG_ROLE = "wrong_role"
    ACTING_FOR_ANOTHER = "acting_for_another"
    WRONG_STATE = "wrong_state"
    DEADLINE_PASSED = "deadline_passed"
    DEADLINE_NOT_REACHED = "deadline_not_reached"
    DEADLINE_NOT_LATER = "deadline_not_later"
    DEADLINE_IN_PAST = "deadline_in_past"
    SILENCE_TOO_SHORT = "silence_too_short"
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
    JOINT_ITEM = "joint_item"
    ITEMS_OUTSTANDING = "items_outstanding"
    NO_SUCH_ISSUE = "no_such_issue"
    ISSUE_RESOLVED = "issue_resolved"
    ISSUES_OPEN = "issues_open"
    ALREADY_REMINDED = "already_reminded"
    NOTHING_TO_REMIND = "nothing_to_remind"
    REPORT_RECEIVED = "report_received"
    ALREADY_FLAGGED = "already_flagged"
    SELF_SUPERSESSION = "self_supersession"
    SUCCESSOR_NOT_ADOPTED = "successor_not_adopted"
    SUPERSESSION_CYCLE = "supersession_cycle"
    ALREADY_SUPERSEDES = "already_supersedes"
    NOT_SUSPENDED = "not_suspended"
    WEBHOOK_LIMIT = "webhook_limit"
    KEY_REGISTERED = "key_registered"
    BAD_SIGNATURE = "bad_signature"
    NO_KEY = "no_key"
    SIGNATURE_REQUIRED = "signature_required"


class ConcordError(Exception):
    """Base of every error Concord raises on purpose."""

    exit_code: ClassVar[int] = 70
    http_status: ClassVar[int] = 500
    label: ClassVar[str] = "error"
    kind: ClassVar[str] = "error"
    """The error's code in documents (a refusal's code is its rule's)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def line(self) -> str:
        """The one line a person reads: the label, then the message."""
        return f"{self.label}: {self.message}"

    def details(self) -> dict[str, str]:
        """What rebuilds this error elsewhere (`from_details`): only strings."""
        return {"message": self.message}

    @property
    def code(self) -> str:
        return self.kind

    def document(self) -> dict[str, dict[str, str | None]]:
        """The error as one JSON document: `{"error": {"code", "message", "field"}}`."""
        field = getattr(self, "field", None)
        return {"error": {"code": self.code, "message": self.message, "field": field}}

    @classmethod
    def from_details(cls, details: Mapping[str, str]) -> Self:
        return cls(details["message"])


class InvalidInput(ConcordError):
    """Input that breaks a rule of form: names the field and the rule."""

    exit_code = 2
    http_status = 422
    label = "invalid input"
    kind = "invalid_input"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def details(self) -> dict[str, str]:
        return {"message": self.message, "field": self.field, "reason": self.reason}

    @classmethod
    def from_details(cls, details: Mapping[str, str]) -> Self:
        return cls(details["field"], details["reason"])


class Refusal(ConcordError):
    """A well-formed command the rules of the procedure do not allow now."""

    exit_code = 3
    http_status = 409
    label = "refused"
    kind = "refused"

    def __init__(self, rule: Rule, message: str, **params: str | int) -> None:
        super().__init__(message)
        self.rule = rule
        self.params = {name: str(value) for name, value in params.items()}
        """The particulars of the refusal by name (a member, a round), so that an interface
        can word it in its reader's language; the message is their English wording."""

    def line(self) -> str:
        return f"refused ({self.rule.value}): {self.message}"

    @property
    def code(self) -> str:
        return self.rule.value

    def details(self) -> dict[str, str]:
        particulars = {f"{_PARAM}{name}": value for name, value in self.params.items()}
        return {"message": self.message, "rule": self.rule.value, **particulars}

    @classmethod
    def from_details(cls, details: Mapping[str, str]) -> Self:
        params = {k.removeprefix(_PARAM): v for k, v in details.items() if k.startswith(_PARAM)}
        return cls(Rule(details["rule"]), details["message"], **params)


_PARAM: Final = "param."
"""How a refusal's particulars are named among its details."""


class Unauthenticated(ConcordError):
    """No credentials, or credentials that are unknown, revoked or expired."""

    exit_code = 77
    http_status = 401
    label = "unauthenticated"
    kind = "unauthenticated"


class Forbidden(ConcordError):
    """An authenticated principal asking for something outside its role."""

    exit_code = 77
    http_status = 403
    label = "forbidden"
    kind = "forbidden"


class NotFound(ConcordError):
    """Something asked for does not exist."""

    exit_code = 4
    http_status = 404
    label = "not found"
    kind = "not_found"


class Unavailable(ConcordError):
    """A service Concord needs cannot be reached."""

    exit_code = 5
    http_status = 503
    label = "unavailable"
    kind = "unavailable"


class Conflict(ConcordError):
    """Another writer changed the same thing first; nothing was written: retry."""

    exit_code = 6
    http_status = 409
    label = "conflict"
    kind = "conflict"


class InvalidHistory(ConcordError):
    """Stored events that cannot follow one another: a corrupted or foreign history."""

    exit_code = 1
    http_status = 500
    label = "invalid history"
    kind = "invalid_history"


class AuditFailed(InvalidHistory):
    """An audit's finding: the log or a replay does not verify; names the first break."""

    label = "audit failed"
    kind = "audit_failed"


class Fault(ConcordError):
    """Concord itself failed (a defect, a failed workflow): not a refusal, nothing refused."""

    exit_code = 70
    http_status = 500
    label = "failed"
    kind = "failed"


ERROR_CLASSES: Final[dict[str, type[ConcordError]]] = {
    kind.__name__: kind
    for kind in (
        ConcordError,
        InvalidInput,
        Refusal,
        Unauthenticated,
        Forbidden,
        NotFound,
        Unavailable,
        Conflict,
        InvalidHistory,
        AuditFailed,
        Fault,
    )
}
"""Every class of the tree by name: how an error's type is named when it crosses a boundary."""


def rebuild(kind: str, details: Mapping[str, str]) -> ConcordError | None:
    """The error named `kind` with `details`, or None when they name no error of the tree."""
    error_class = ERROR_CLASSES.get(kind)
    if error_class is None:
        return None
    try:
        return error_class.from_details(details)
    except (KeyError, ValueError, TypeError):
        return None
