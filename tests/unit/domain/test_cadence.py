"""When a body sits for an extraordinary request: at its first usual time of day after the
request that the body's delay allows, and at the delay's end only when none does."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.cadence import Cadence

MONTHLY_AT_TEN = "FREQ=MONTHLY;BYDAY=3TH;BYHOUR=10"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def test_a_body_sits_at_the_hour_and_minute_its_rule_gives() -> None:
    assert Cadence(rule=MONTHLY_AT_TEN).sitting_times() == (time(10, 0),)
    assert Cadence(rule="FREQ=WEEKLY;BYDAY=WE;BYHOUR=9;BYMINUTE=30").sitting_times() == (
        time(9, 30),
    )
    assert Cadence(rule="FREQ=WEEKLY;BYDAY=WE;BYMINUTE=15,45;BYHOUR=15,9").sitting_times() == (
        time(9, 15),
        time(9, 45),
        time(15, 15),
        time(15, 45),
    )


def test_a_body_without_a_rule_or_an_hour_sits_at_ten() -> None:
    assert Cadence().sitting_times() == (time(10, 0),)
    assert Cadence(rule="FREQ=MONTHLY;BYMONTHDAY=10").sitting_times() == (time(10, 0),)


def test_an_extraordinary_sitting_is_at_the_first_usual_time_after_the_request() -> None:
    two_days = Cadence(rule=MONTHLY_AT_TEN, extraordinary_within=timedelta(days=2))
    assert two_days.extraordinary_sitting(at(9, 8)) == at(9, 10)
    assert two_days.extraordinary_sitting(at(9, 15, 30)) == at(10, 10)
    assert two_days.extraordinary_sitting(at(9, 10)) == at(10, 10)  # after it, not at it
    half_past_nine = Cadence(rule="FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=30")
    assert half_past_nine.extraordinary_sitting(at(31, 23)) == datetime(
        2027, 1, 1, 9, 30, tzinfo=UTC
    )


def test_an_extraordinary_sitting_of_a_body_sitting_ad_hoc_is_at_ten() -> None:
    assert Cadence().extraordinary_sitting(at(9, 11)) == at(10, 10)
    within_a_day = Cadence(extraordinary_within=timedelta(days=1))
    assert within_a_day.extraordinary_sitting(at(9, 7)) == at(9, 10)


def test_an_extraordinary_sitting_is_at_the_delays_end_when_no_usual_time_falls_within_it() -> None:
    six_hours = Cadence(rule=MONTHLY_AT_TEN, extraordinary_within=timedelta(hours=6))
    assert six_hours.extraordinary_sitting(at(9, 11)) == at(9, 17)
    assert six_hours.extraordinary_sitting(at(9, 5)) == at(9, 10)
    assert six_hours.extraordinary_sitting(at(9, 4)) == at(9, 10)  # the delay's last instant
    assert six_hours.extraordinary_sitting(at(9, 3, 59)) == at(9, 9, 59)


def test_a_request_in_another_time_zone_is_met_at_the_bodys_usual_time_in_utc() -> None:
    moscow = datetime(2026, 12, 9, 12, 0, tzinfo=ZoneInfo("Europe/Moscow"))  # 09:00 UTC
    assert Cadence(rule=MONTHLY_AT_TEN).extraordinary_sitting(moscow) == at(9, 10)
