"""Areas of cooperation named by the Rome Declaration, plus others added by mutual agreement."""

from __future__ import annotations

from enum import StrEnum


class Area(StrEnum):
    """An area of cooperation; `OTHER` needs a label agreed by the members."""

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
