"""Areas of cooperation: each council names its own in its file; the NATO-Russia Council's are
those the Rome Declaration names, plus others added by mutual agreement."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import Field

AreaCode = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{1,62}$",
        description="an area of cooperation of the council, e.g. crisis_management",
    ),
]
LevelCode = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{1,62}$",
        description="a level at which the council sits, e.g. foreign_ministers",
    ),
]

OTHER: Final = "other"
"""The area every council has: a decision in it needs a label agreed by the members."""


class Area(StrEnum):
    """The NATO-Russia Council's areas of cooperation (the Rome Declaration's); `OTHER` needs a
    label agreed by the members."""

    STRUGGLE_AGAINST_TERRORISM = "struggle_against_terrorism"
    CRISIS_MANAGEMENT = "crisis_management"
    NON_PROLIFERATION = "non_proliferation"
    ARMS_CONTROL_AND_CSBMS = "arms_control_and_csbms"
    THEATRE_MISSILE_DEFENCE = "theatre_missile_defence"
    SEARCH_AND_RESCUE_AT_SEA = "search_and_rescue_at_sea"
    MILITARY_COOPERATION_AND_DEFENCE_REFORM = "military_cooperation_and_defence_reform"
    CIVIL_EMERGENCIES = "civil_emergencies"
    NEW_THREATS_AND_CHALLENGES = "new_threats_and_challenges"
    OTHER = "other"


ROME_AREAS: Final = tuple(a.value for a in Area if a is not Area.OTHER)
"""The areas of a council whose file names none: the NATO-Russia Council's (files written
before a council named its own)."""
