"""The context a command is decided in: typed envelopes, emitted events, a rule for each kind."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest

from domain.checks import Deciding
from domain.commands import CommandBase, CommandHeader
from domain.decider import decide
from domain.errors import InvalidInput
from domain.events import ENVELOPE_FIELDS, EventBase, ReferredToPreparatoryCommittee
from domain.nrc import NRC_ROSTERS
from domain.roster import CHAIR
from tests.unit.domain.scenario import START, Scenario


def test_the_typed_envelope_names_exactly_the_fields_every_event_carries() -> None:
    d = Deciding(None, Scenario().command("withdraw", "POL"), START, NRC_ROSTERS)
    assert set(d.envelope()) == set(EventBase.model_fields)
    assert {"type", *EventBase.model_fields} == ENVELOPE_FIELDS


def test_the_typed_command_header_names_exactly_the_fields_every_command_carries() -> None:
    assert set(CommandHeader.__required_keys__) == set(CommandBase.model_fields)


def test_each_event_takes_the_next_version_and_one_on_a_stale_envelope_is_not_emitted() -> None:
    s = Scenario().proposed()
    d = Deciding(s.state, s.command("refer", CHAIR), START, NRC_ROSTERS)
    stale = d.envelope()
    deadline = START + timedelta(days=14)
    d.emit(ReferredToPreparatoryCommittee(**stale, committee="PC", review_deadline=deadline))
    assert [e.stream_version for e in d.events] == [2]
    with pytest.raises(AssertionError, match="carries version 2, not 3"):
        d.emit(ReferredToPreparatoryCommittee(**stale, committee="PC", review_deadline=deadline))
    assert len(d.events) == 1


class _Unruled(CommandBase):
    kind: Literal["unruled"] = "unruled"


def test_a_command_no_rule_takes_is_invalid_input() -> None:
    s = Scenario().proposed()
    command = _Unruled(decision_id=s.decision_id, actor=CHAIR, recorded_by="operator:sec")
    with pytest.raises(InvalidInput, match="unknown command _Unruled"):
        decide(s.state, command, START)


def test_a_scripted_command_is_recorded_by_the_member_itself_or_by_the_operator() -> None:
    from pydantic import ValidationError

    from domain.commands import Concur, command_of

    concur = command_of("concur", "d-1", "RUS", round=1, text_hash="sha256:" + "0" * 64)
    refer = command_of("refer", "d-1", "chair", operator="sec")
    report = command_of("report_progress", "d-1", "PC", summary="s")

    assert isinstance(concur, Concur) and concur.recorded_by == "member:RUS"
    assert (refer.recorded_by, report.recorded_by) == ("operator:sec", "operator:secretariat")
    assert command_of("refer", "d-1", "chair", "operator:x").recorded_by == "operator:x"
    with pytest.raises(ValidationError, match="text_hash"):
        command_of("concur", "d-1", "RUS", round=1, text_hash="not a hash")
