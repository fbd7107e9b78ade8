"""Value types shared by commands, events and state: identifiers, texts, principals, plans."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from domain.errors import InvalidInput

SYSTEM: Final = "system"
PROCEDURE_PRINCIPAL: Final = "system:procedure"
"""Who records what the procedure itself concludes (a round agreed by every member's
concurrence): not the member whose answer happened to be the last."""
"""The acting code of Concord itself when the procedure's clock acts (deadlines, reminders)."""

DecisionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
TextHash = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
ActorCode = Annotated[str, StringConstraints(pattern=r"^(chair|system|[A-Z][A-Z0-9-]{1,31})$")]
Principal = Annotated[
    str, StringConstraints(pattern=r"^(operator|member|system):[A-Za-z0-9._@+-]{1,64}$")
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200_000)]
STATEMENT_MAX_LENGTH: Final = 20_000
Statement = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=STATEMENT_MAX_LENGTH)
]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Control characters but tab, line feed and carriage return: terminal escapes, bells, NUL."""
_LINE_BREAK = re.compile(r"[\t\r\n\u2028\u2029]")


def _without_control_characters(value: str) -> str:
    if found := _CONTROL.search(value):
        raise ValueError(f"must not contain control characters (found U+{ord(found.group()):04X})")
    return value


_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
"""Invisible formatting characters: bidirectional overrides, isolates and marks, zero-width
spaces and joiners. In a line that is read and not written, they make it read other than it
is stored (text shown reversed, a name split in two): refused where a value is one line."""


def visible(text: str) -> str:
    """`text` as a reader is shown it: each invisible formatting character written as \\uNNNN,
    so a text that may hold them (a proposal's, a resolution's, reasons) reads as it is stored."""
    return _INVISIBLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _one_line(value: str) -> str:
    _without_control_characters(value)
    if _LINE_BREAK.search(value):
        raise ValueError("must be one line (no line breaks or tabs)")
    if found := _INVISIBLE.search(value):
        raise ValueError(
            f"must not contain invisible formatting characters (found U+{ord(found.group()):04X}:"
            " a bidirectional override or a zero-width character)"
        )
    return value


def _normalised_text(value: str) -> str:
    """A text as it is hashed: without a byte-order mark, in Unicode normal form C."""
    _without_control_characters(value)
    text = unicodedata.normalize("NFC", value.removeprefix("\ufeff"))
    if not text.strip():
        raise ValueError("must hold more than white space (or a byte-order mark)")
    return text


CleanTitle = Annotated[Title, AfterValidator(_one_line)]
"""A title a command gives: one line, no control characters (events keep what was stored)."""
CleanText = Annotated[Text, AfterValidator(_normalised_text)]
"""A text a command gives: no control characters but tabs and line breaks, no byte-order mark,
NFC-normalised, so that the same text always has the same hash."""
CleanStatement = Annotated[Statement, AfterValidator(_without_control_characters)]
"""Reasons, summaries and notes a command gives: no control characters but tabs and breaks."""
CleanLabel = Annotated[str, StringConstraints(max_length=200), AfterValidator(_one_line)]
"""A short name a command gives (an area's label): one line, no control characters."""
CleanDetail = Annotated[
    str, StringConstraints(max_length=300), AfterValidator(_without_control_characters)
]
"""A line of detail Concord gives with a command (an agenda item's): no control characters."""

ItemId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")]
Seconds = Annotated[int, Field(ge=1, le=10 * 366 * 86_400)]
"""A duration the procedure accepts (review periods, reminders): a second to ten years."""
MAX_NUMBER: Final = 10_000
"""The highest round or issue number a command names: far beyond any decision's, and an
integer that canonical JSON (IEEE doubles) carries exactly."""
Number = Annotated[int, Field(ge=1, le=MAX_NUMBER)]
"""A round's or an issue's number, as a command names it."""

EARLIEST_INSTANT: Final = datetime(1900, 1, 1, tzinfo=UTC)
"""The earliest instant a command names. Reminders fall up to ten years before a deadline;
bounding instants leaves every earlier instant the procedure computes representable."""
LATEST_DEADLINE: Final = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""The latest deadline the procedure accepts. Deadlines move later by suspensions and
extensions; bounding them leaves every later instant the procedure computes representable."""


def _in_whole_minutes(instant: datetime) -> datetime:
    offset = instant.utcoffset()
    if offset is not None and offset % timedelta(minutes=1):
        # JSON's instants (RFC 3339) carry whole minutes: the rest would be lost in transit,
        # moving the instant between the command given and the command decided.
        raise ValueError(f"must have a UTC offset in whole minutes, not {offset}")
    return instant


def _not_before_the_earliest_instant(instant: datetime) -> datetime:
    if instant < EARLIEST_INSTANT:
        raise ValueError(f"must be no earlier than {EARLIEST_INSTANT.isoformat()}")
    return instant


def _not_after_the_latest_deadline(instant: datetime) -> datetime:
    if instant > LATEST_DEADLINE:
        raise ValueError(f"must be no later than {LATEST_DEADLINE.isoformat()}")
    return instant


CarriedInstant = Annotated[AwareDatetime, AfterValidator(_in_whole_minutes)]
"""An instant with its timezone, whose offset JSON carries exactly (whole minutes)."""
Instant = Annotated[CarriedInstant, AfterValidator(_not_before_the_earliest_instant)]
"""An instant a command names: a CarriedInstant no earlier than EARLIEST_INSTANT."""
Deadline = Annotated[Instant, AfterValidator(_not_after_the_latest_deadline)]
"""An instant a command sets as a deadline: an Instant no later than LATEST_DEADLINE."""


def by_value(enum: type[StrEnum]) -> BeforeValidator:
    """Validation of a field of `enum` that refuses anything but a string before the enum's own
    lookup, which writes the input whole into its error: a list nested a thousand deep would
    overflow the stack instead of being refused."""
    values = [repr(member.value) for member in enum]
    expected = values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"

    def a_string(value: object) -> object:
        if isinstance(value, str):
            return value
        raise PydanticCustomError("enum", "Input should be {expected}", {"expected": expected})

    return BeforeValidator(a_string)


class Frozen(BaseModel):
    """Base of every value, command and event: immutable and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Checked(Frozen):
    """A Frozen model built from what came from outside (a file, a request, a record to
    store): a field that does not fit is InvalidInput naming it, a one-line answer and never
    a trace."""

    @model_validator(mode="wrap")
    @classmethod
    def _refuse_as_invalid_input(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            return handler(data)
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(part) for part in first["loc"]) or cls.__name__
            raise InvalidInput(field, first["msg"]) from None


def text_hash(text: str) -> str:
    """The content hash a round is bound to: SHA-256 of the text's UTF-8 bytes."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def principal_role(principal: str) -> str:
    """`operator`, `member` or `system`: the kind of principal that recorded a command."""
    return principal.split(":", 1)[0]


def principal_id(principal: str) -> str:
    return principal.split(":", 1)[1]


class Status(StrEnum):
    """Where a joint decision stands in its lifecycle."""

    PROPOSED = "proposed"
    IN_REVIEW = "in_review"
    UNDER_CONSENSUS = "under_consensus"
    ADOPTED = "adopted"
    IN_IMPLEMENTATION = "in_implementation"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"
    SUPERSEDED = "superseded"
    SUSPENDED = "suspended"


TERMINAL: Final = frozenset({Status.COMPLETED, Status.WITHDRAWN, Status.LAPSED, Status.SUPERSEDED})
IN_FORCE: Final = frozenset({Status.ADOPTED, Status.IN_IMPLEMENTATION})
"""Adopted and not yet closed: where implementation issues are raised and supersession applies."""


class AssigneeKind(StrEnum):
    MEMBER = "member"
    ALL_MEMBERS = "all_members"
    BODY = "body"


class Assignee(Frozen):
    """Who answers for an action item: one member, all members jointly, or a body."""

    kind: Annotated[AssigneeKind, by_value(AssigneeKind)]
    code: ActorCode | None = None

    @model_validator(mode="after")
    def _code_matches_kind(self) -> Assignee:
        if (self.kind is AssigneeKind.ALL_MEMBERS) != (self.code is None):
            raise ValueError("an assignee names a code unless it is all members jointly")
        return self

    def label(self) -> str:
        return "all members jointly" if self.code is None else self.code


class ActionItem(Frozen):
    """One action item of an implementation plan."""

    item_id: ItemId
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    assignee: Assignee
    due: CarriedInstant | None = None


def _items_as_planned(items: tuple[ActionItem, ...]) -> tuple[ActionItem, ...]:
    for item in items:
        try:
            _without_control_characters(item.description)
        except ValueError as unclean:
            raise ValueError(f"item {item.item_id}'s description {unclean}") from None
        if len(item.description) > STATEMENT_MAX_LENGTH:
            raise ValueError(
                f"item {item.item_id}'s description is longer than "
                f"{STATEMENT_MAX_LENGTH:,} characters"
            )
    return items


PlannedItems = Annotated[tuple[ActionItem, ...], AfterValidator(_items_as_planned)]
"""Action items a command plans: each description a clean statement (events keep what was
stored, as they do for titles and texts)."""


class RoundOutcome(StrEnum):
    ADOPTED_BY_SILENCE = "adopted_by_silence"
    ADOPTED_BY_UNANIMOUS_CONCURRENCE = "adopted_by_unanimous_concurrence"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ReviewOutcome(StrEnum):
    FORWARD = "forward"
    AMEND = "amend"
    RETURN = "return"


class DeadlineTarget(StrEnum):
    REVIEW = "review"
    ROUND = "round"
    REPORT_BACK = "report_back"


RoundCloser = Literal["deadline", "chair", "unanimous_concurrence"]


class AgendaItemKind(StrEnum):
    """Why a decision is on a sitting's agenda."""

    PROPOSAL_FOR_REVIEW = "proposal_for_review"
    ROUND_CLOSING = "round_closing"
    IMPLEMENTATION_ISSUE = "implementation_issue"
    REPORT_BACK_DUE = "report_back_due"
    EXTRAORDINARY_REQUEST = "extraordinary_request"


MeetingId = Annotated[str, StringConstraints(pattern=r"^meeting\.[a-z0-9-]{1,55}$")]
"""A sitting's stream in the log: `meeting.<body>-<instant>`."""
