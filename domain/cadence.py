"""When a body sits: an RFC 5545 recurrence rule, the minimum frequency it must keep, and
how soon an extraordinary request must be met."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr
from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_EXTRAORDINARY_DELAY: Final = timedelta(days=2)
DEFAULT_SITTING_TIME: Final = time(10, 0)
"""When (UTC) a body whose rule names no hour, or which has no rule, sits."""
CHECKED_PERIODS: Final = 24
"""How many periods of the minimum frequency a cadence is checked against when a council
file is validated: two years of months, six years of quarters, 24 years of years."""


class Period(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    @property
    def length(self) -> relativedelta:
        return {
            Period.WEEK: relativedelta(weeks=1),
            Period.MONTH: relativedelta(months=1),
            Period.QUARTER: relativedelta(months=3),
            Period.YEAR: relativedelta(years=1),
        }[self]

    def start_of(self, instant: datetime) -> datetime:
        """The start (00:00 UTC) of the period that holds `instant`."""
        day = instant.astimezone(UTC).date()
        if self is Period.WEEK:
            day -= timedelta(days=day.weekday())
        elif self is Period.MONTH:
            day = day.replace(day=1)
        elif self is Period.QUARTER:
            day = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        else:
            day = day.replace(month=1, day=1)
        return datetime.combine(day, time(), UTC)


class MinimumFrequency(BaseModel):
    """At least `sittings` sittings in every calendar `per` ("twice monthly": 2 per month)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sittings: int = Field(ge=1, le=366)
    per: Period

    def label(self) -> str:
        return f"at least {self.sittings} per {self.per.value}"


class Cadence(BaseModel):
    """A body's regular sittings (`rule`, an RFC 5545 RRULE in UTC, without DTSTART: the
    rule counts from `counted_from`, or from its council's first roster), the minimum it must
    keep, and the delay within which an extraordinary request is met. A body without a rule
    sits ad hoc."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str | None = Field(
        default=None,
        description='RFC 5545 RRULE, e.g. "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;BYHOUR=10"',
        examples=["FREQ=MONTHLY;BYDAY=1TH;BYHOUR=10"],
    )
    counted_from: date | None = Field(
        default=None,
        description="the day (00:00 UTC) the rule counts from, e.g. the first sitting of a "
        "two-yearly cycle; the council's first roster's effective_from when left out",
    )
    at_least: MinimumFrequency | None = None
    extraordinary_within: timedelta = Field(
        default=DEFAULT_EXTRAORDINARY_DELAY,
        description="ISO 8601 duration, e.g. P2D: an extraordinary request is met this soon",
    )

    @field_validator("rule")
    @classmethod
    def _parses(cls, rule: str | None) -> str | None:
        if rule is None:
            return None
        text = rule.strip().removeprefix("RRULE:")
        if "DTSTART" in text.upper() or "\n" in text:
            raise ValueError("give the RRULE alone, without DTSTART or other lines")
        try:
            rrulestr(text, dtstart=datetime(2000, 1, 1, tzinfo=UTC))
        except (ValueError, TypeError) as error:
            raise ValueError(f"not an RFC 5545 RRULE: {error}") from None
        return text

    @field_validator("extraordinary_within")
    @classmethod
    def _positive(cls, delay: timedelta) -> timedelta:
        if delay <= timedelta(0):
            raise ValueError("must be a positive duration")
        return delay

    def counted(self, anchor: datetime) -> datetime:
        """Where the rule counts from: its own day, else `anchor` (its council's)."""
        return day_start(self.counted_from) if self.counted_from is not None else anchor

    def recurrence(self, anchor: datetime) -> rrule | None:
        """The sittings the rule sets, counted from its own day or else `anchor`; None for a
        body sitting ad hoc."""
        if self.rule is None:
            return None
        parsed = rrulestr(self.rule, dtstart=self.counted(anchor).astimezone(UTC))
        assert isinstance(parsed, rrule)
        return parsed

    def sittings_between(self, anchor: datetime, start: datetime, end: datetime) -> list[datetime]:
        """The regular sittings in [start, end)."""
        recurrence = self.recurrence(anchor)
        if recurrence is None:
            return []
        return [s for s in recurrence.between(start, end, inc=True) if s < end]

    def next_sitting(self, anchor: datetime, after: datetime) -> datetime | None:
        recurrence = self.recurrence(anchor)
        return None if recurrence is None else recurrence.after(after)

    def sitting_times(self) -> tuple[time, ...]:
        """The times of day (UTC) its rule sets sittings at, from its BYHOUR and BYMINUTE (on
        the hour when it names no minute); `DEFAULT_SITTING_TIME` when it names no hour."""
        parts = {
            key.strip(): value
            for key, _, value in (p.partition("=") for p in (self.rule or "").upper().split(";"))
        }
        hours = _numbers(parts.get("BYHOUR", ""), 24)
        minutes = _numbers(parts.get("BYMINUTE", ""), 60) or (0,)
        if not hours:
            return (DEFAULT_SITTING_TIME,)
        return tuple(time(h, m) for h in hours for m in minutes)

    def extraordinary_sitting(self, requested_at: datetime) -> datetime:
        """When an extraordinary request made at `requested_at` is met: the first instant after
        it at one of the body's sitting times of day that falls within the delay; the delay's
        end when none does."""
        latest = requested_at + self.extraordinary_within
        asked = requested_at.astimezone(UTC)
        day = asked.date()
        while day_start(day) <= latest:
            for at in self.sitting_times():
                slot = datetime.combine(day, at, UTC)
                if asked < slot <= latest:
                    return slot
            day += timedelta(days=1)
        return latest

    def shortfall(self, anchor: datetime) -> str | None:
        """Why the rule cannot keep its own minimum (checked over `CHECKED_PERIODS` whole
        periods from the anchor), or None when it does."""
        if self.at_least is None:
            return None
        if self.rule is None:
            return f"a body sitting ad hoc (no rule) cannot promise {self.at_least.label()}"
        period = self.at_least.per
        anchor = self.counted(anchor)
        start = period.start_of(anchor)
        if start < anchor:
            start += period.length
        for _ in range(CHECKED_PERIODS):
            end = start + period.length
            held = len(self.sittings_between(anchor, start, end))
            if held < self.at_least.sittings:
                return (
                    f"the rule sets {held} sitting(s) in the {period.value} from "
                    f"{start.date().isoformat()}, below its minimum, {self.at_least.label()}"
                )
            start = end
        return None


def _numbers(listed: str, below: int) -> tuple[int, ...]:
    """The sorted values of a rule part's comma-separated list that lie in [0, below)."""
    values = {int(v) for v in listed.split(",") if v.strip().isdigit()}
    return tuple(sorted(v for v in values if v < below))


def day_start(day: date) -> datetime:
    """00:00 UTC of `day`: when a roster dated `day` takes effect."""
    return datetime.combine(day, time(), UTC)
