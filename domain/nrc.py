"""The NATO-Russia Council's rosters as the seeds give them: Rome 2002, and the 2004 enlargement."""

from __future__ import annotations

from datetime import date

from domain.roster import (
    PREPARATORY_COMMITTEE,
    Body,
    BodyKind,
    CouncilLevel,
    Member,
    Roster,
    RosterBook,
)

_ROME_2002_MEMBERS = (
    ("BEL", "Kingdom of Belgium"),
    ("CAN", "Canada"),
    ("CZE", "Czech Republic"),
    ("DNK", "Kingdom of Denmark"),
    ("FRA", "French Republic"),
    ("DEU", "Federal Republic of Germany"),
    ("GRC", "Hellenic Republic"),
    ("HUN", "Republic of Hungary"),
    ("ISL", "Republic of Iceland"),
    ("ITA", "Italian Republic"),
    ("LUX", "Grand Duchy of Luxembourg"),
    ("NLD", "Kingdom of the Netherlands"),
    ("NOR", "Kingdom of Norway"),
    ("POL", "Republic of Poland"),
    ("PRT", "Portuguese Republic"),
    ("RUS", "Russian Federation"),
    ("ESP", "Kingdom of Spain"),
    ("TUR", "Republic of Turkey"),
    ("GBR", "United Kingdom of Great Britain and Northern Ireland"),
    ("USA", "United States of America"),
)

_ENLARGEMENT_2004_MEMBERS = (
    ("BGR", "Republic of Bulgaria"),
    ("EST", "Republic of Estonia"),
    ("LVA", "Republic of Latvia"),
    ("LTU", "Republic of Lithuania"),
    ("ROU", "Romania"),
    ("SVK", "Slovak Republic"),
    ("SVN", "Republic of Slovenia"),
)

_BODIES = (
    Body(
        code="NRC-AMB",
        name="NRC at the level of Ambassadors",
        kind=BodyKind.COUNCIL,
        level=CouncilLevel.AMBASSADORS,
    ),
    Body(
        code="NRC-FM",
        name="NRC at the level of Foreign Ministers",
        kind=BodyKind.COUNCIL,
        level=CouncilLevel.FOREIGN_MINISTERS,
    ),
    Body(
        code="NRC-DM",
        name="NRC at the level of Defence Ministers",
        kind=BodyKind.COUNCIL,
        level=CouncilLevel.DEFENCE_MINISTERS,
    ),
    Body(
        code="NRC-HSG",
        name="NRC at the level of Heads of State and Government",
        kind=BodyKind.COUNCIL,
        level=CouncilLevel.HEADS_OF_STATE_AND_GOVERNMENT,
    ),
    Body(
        code="NRC-CHOD",
        name="NRC Chiefs of Staff",
        kind=BodyKind.COUNCIL,
        level=CouncilLevel.CHIEFS_OF_STAFF,
    ),
    Body(
        code="NRC-MR",
        name="NRC Military Representatives",
        kind=BodyKind.COUNCIL,
        level=CouncilLevel.MILITARY_REPRESENTATIVES,
    ),
    Body(
        code=PREPARATORY_COMMITTEE,
        name="Preparatory Committee",
        kind=BodyKind.PREPARATORY_COMMITTEE,
    ),
    Body(
        code="WG-TERRORISM", name="Ad Hoc Working Group on Terrorism", kind=BodyKind.WORKING_GROUP
    ),
)


def _members(pairs: tuple[tuple[str, str], ...]) -> tuple[Member, ...]:
    return tuple(Member(code=code, name=name) for code, name in pairs)


ROME_2002 = Roster(
    version=1,
    effective_from=date(2002, 5, 28),
    members=_members(_ROME_2002_MEMBERS),
    bodies=_BODIES,
)

ENLARGEMENT_2004 = Roster(
    version=2,
    effective_from=date(2004, 3, 29),
    members=_members(_ROME_2002_MEMBERS + _ENLARGEMENT_2004_MEMBERS),
    bodies=_BODIES,
)

NRC_ROSTERS = RosterBook(rosters=(ROME_2002, ENLARGEMENT_2004))
"""The roster book Concord uses unless configured otherwise."""
