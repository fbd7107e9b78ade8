"""The state's parts change only into validated copies."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain.values import Status
from tests.unit.domain.scenario import Scenario


def test_a_replaced_state_is_a_new_validated_copy_and_the_original_is_unchanged() -> None:
    state = Scenario().round_open().s
    adopted = state.replace(status=Status.ADOPTED, adopted_round=1)
    assert (adopted.status, adopted.adopted_round) == (Status.ADOPTED, 1)
    assert (state.status, state.adopted_round) == (Status.UNDER_CONSENSUS, None)
    assert adopted.rounds == state.rounds and adopted.decision_id == state.decision_id


def test_a_state_is_not_replaced_by_a_wrongly_typed_or_unknown_field() -> None:
    state = Scenario().round_open().s
    with pytest.raises(ValidationError, match="status"):
        state.replace(status="nonsense")
    with pytest.raises(ValidationError, match="last_event_at"):
        state.replace(last_event_at="2004-12-01T09:00:00")
    with pytest.raises(ValidationError, match="no_such_field"):
        state.round(1).replace(no_such_field=1)
