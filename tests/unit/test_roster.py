"""The NRC rosters shipped with Concord match the signatories of the seeds."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from domain.errors import NotFound
from domain.nrc import NRC_ROSTERS
from domain.roster import Member, Roster, RosterBook


def test_rome_roster_has_the_twenty_signatory_states_and_the_chair_is_not_one_of_them() -> None:
    rome = NRC_ROSTERS.snapshot_at(datetime(2002, 5, 28, 12, tzinfo=UTC))
    assert rome.version == 1
    assert len(rome.members) == 20
    assert rome.is_member("RUS") and rome.is_member("USA") and rome.is_member("POL")
    assert not rome.is_member("chair")
    assert rome.chair.title == "NATO Secretary General"


def test_the_2004_enlargement_adds_seven_states_from_its_effective_date() -> None:
    before = NRC_ROSTERS.snapshot_at(datetime(2004, 3, 28, 23, 59, tzinfo=UTC))
    after = NRC_ROSTERS.snapshot_at(datetime(2004, 3, 29, 0, 0, tzinfo=UTC))
    assert before.version == 1 and after.version == 2
    added = set(after.member_codes) - set(before.member_codes)
    assert added == {"BGR", "EST", "LVA", "LTU", "ROU", "SVK", "SVN"}
    assert len(after.members) == 27


def test_no_roster_is_in_force_before_the_council_was_established() -> None:
    with pytest.raises(NotFound, match="no roster in force on 2001-12-07"):
        NRC_ROSTERS.snapshot_at(datetime(2001, 12, 7, tzinfo=UTC))


def test_a_roster_refuses_duplicate_member_codes() -> None:
    with pytest.raises(ValidationError, match="member codes must be unique"):
        Roster(
            version=1,
            effective_from=date(2002, 5, 28),
            members=(Member(code="RUS", name="a"), Member(code="RUS", name="b")),
        )


def test_a_member_code_must_be_iso_alpha_3() -> None:
    with pytest.raises(ValidationError, match="pattern"):
        Member(code="ru", name="Russian Federation")


def test_roster_versions_must_be_contiguous_and_in_date_order() -> None:
    one = Roster(
        version=1, effective_from=date(2004, 1, 1), members=(Member(code="AAA", name="a"),)
    )
    three = Roster(version=3, effective_from=date(2005, 1, 1), members=one.members)
    with pytest.raises(ValidationError, match="without gaps"):
        RosterBook(rosters=(one, three))
