"""Parsing what people type: durations, deadlines, decision ids, and pydantic errors as fields."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from domain.errors import ConcordError, InvalidInput
from domain.values import EARLIEST_INSTANT

_DURATION = re.compile(r"^([0-9]+)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
M = TypeVar("M", bound=BaseModel)
MAX_DURATION = timedelta(days=100 * 366)
"""The longest duration a command line accepts (a century): anything longer is a typing slip."""


def parse_duration(value: str, field: str) -> timedelta:
    """`30s`, `15m`, `72h` or `14d` as a timedelta; InvalidInput naming `field` otherwise."""
    match = _DURATION.match(value.strip())
    digits = match.group(1).lstrip("0") if match else ""
    if not match or not digits:
        raise InvalidInput(field, f"{excerpt(value)} is not a duration like 30s, 15m, 72h or 14d")
    # Measured before anything is built of it: Python reads no integer of more than 4,300
    # digits, and a timedelta holds fewer than a billion days.
    seconds = int(digits) * _UNIT_SECONDS[match.group(2)] if len(digits) <= 15 else None
    if seconds is None or seconds > MAX_DURATION.total_seconds():
        raise InvalidInput(
            field,
            f"{excerpt(value)} is longer than {MAX_DURATION.days} days, the longest accepted",
        )
    return timedelta(seconds=seconds)


def duration_seconds(value: str | None, field: str) -> int | None:
    """A duration option as whole seconds, or None when the option was not given."""
    return None if value is None else int(parse_duration(value, field).total_seconds())


def parse_deadline(value: str, field: str, now: datetime | None = None) -> datetime:
    """A duration from now (`72h`) or an ISO-8601 instant with its timezone."""
    if _DURATION.match(value.strip()):
        return (now or datetime.now(UTC)) + parse_duration(value, field)
    try:
        instant = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            field,
            f"{excerpt(value)} is neither a duration (72h) nor an ISO-8601 instant "
            "(2026-12-01T12:00:00Z)",
        ) from None
    if instant.tzinfo is None:
        raise InvalidInput(field, f"{excerpt(value)} needs a timezone, e.g. 2026-12-01T12:00:00Z")
    return instant


def parse_as_of(value: str | None, field: str, now: datetime | None = None) -> datetime:
    """An instant to look back at: now (None), a duration ago (`2d`), a date (its start, UTC)
    or an ISO-8601 instant with its timezone."""
    now = now or datetime.now(UTC)
    if value is None:
        return now
    if _DURATION.match(value.strip()):
        instant = now - parse_duration(value, field)
    else:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            instant = parse_deadline(value, field)
        else:
            instant = datetime(day.year, day.month, day.day, tzinfo=UTC)
    if instant < EARLIEST_INSTANT:
        raise InvalidInput(field, f"must be no earlier than {EARLIEST_INSTANT.date()}, as commands")
    return instant


def read_text_file(path: Path, field: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(field, f"file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(field, f"cannot read {str(path)!r}: {error}") from None
    if not text.strip():
        raise InvalidInput(field, f"file {str(path)!r} is empty")
    return text


def new_decision_id(title: str, key: str | None = None) -> str:
    """A decision id from its title: random after it, or, given the proposal's idempotency key,
    derived from the key, so the same proposal sent again with its key is the same decision."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].strip("-") or "decision"
    tail = secrets.token_hex(3) if key is None else hashlib.sha256(key.encode()).hexdigest()[:6]
    return f"{slug}-{tail}"


FLAGS = {
    "decision_id": "--id",
    "review_period_seconds": "--review-period",
    "reminder_before_seconds": "--remind-before",
    "new_deadline": "--deadline",
    "report_back_deadline": "--report-back",
    "superseded_by": "--by",
    "action_items": "--item",
    "item_id": "--item",
    "round": "--round",
    "text": "--text",
}
"""The option a person typed for each field a command has under another name."""


def as_typed(error: ConcordError) -> ConcordError:
    """The error as the person who typed the command knows its fields: by their options."""
    if isinstance(error, InvalidInput) and error.field in FLAGS:
        return InvalidInput(FLAGS[error.field], error.reason)
    return error


def build(model: type[M], **fields: Any) -> M:
    """Validate `fields` into `model`; the first problem becomes InvalidInput naming its field."""
    try:
        return model.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or model.__name__
        shown = first.get("input")
        if field == "actor":
            typed = excerpt(shown) if isinstance(shown, str | int) else repr(shown)
            raise InvalidInput(
                "--as", f"{typed} is not a member's code (RUS), `chair`, or a body's code (PC)"
            ) from None
        flag = FLAGS.get(field.split(".")[0], "--" + field.replace("_", "-"))
        bound = _BOUNDS.get(first["type"])
        if field.endswith("_seconds") and bound and isinstance(shown, int):
            # The command holds seconds; the person typed days or hours, and reads them back.
            from domain.checks import spoken

            limit = timedelta(seconds=int(first.get("ctx", {})[bound[1]]))
            raise InvalidInput(
                flag,
                f"must be {bound[0]} {spoken(limit)} (got {spoken(timedelta(seconds=shown))})",
            ) from None
        detail = f" (got {excerpt(shown)})" if isinstance(shown, str | int) else ""
        raise InvalidInput(flag, first["msg"] + detail) from None


_BOUNDS = {"less_than_equal": ("at most", "le"), "greater_than_equal": ("at least", "ge")}
"""Pydantic's errors for a number out of its range: how the limit is said, where it is given."""


_DECISION_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def decision_id(value: str) -> str:
    """A decision's id given on the command line, checked before it is sent anywhere or shown:
    one that is not an id is refused, quoted safely and cut short."""
    if not _DECISION_ID.fullmatch(value):
        raise InvalidInput(
            "ID",
            f"{excerpt(value)} is not a decision id (lowercase letters, digits and hyphens, "
            "at most 63)",
        )
    return value


def excerpt(value: str | int, limit: int = 60) -> str:
    """A value as an error shows it: its repr, cut short (a text may be megabytes long)."""
    shown = repr(value)
    return shown if len(shown) <= limit else f"{shown[:limit]}... ({len(str(value)):,} characters)"
