"""A NewEvent holds only what the log can hash canonically; bad input is InvalidInput."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from store.records import EVENT_ID_NAMESPACE, NewEvent, event_id_for

VALID: dict[str, Any] = {
    "event_id": event_id_for("d-2004-terrorism", 1),
    "decision_id": "d-2004-terrorism",
    "stream_version": 1,
    "type": "ProposalSubmitted",
    "payload": {"title": "Action Plan on Terrorism", "items": [1, {"ok": True, "n": None}]},
    "actor": "RUS",
    "recorded_by": "member:RUS",
    "occurred_at": datetime(2004, 12, 9, tzinfo=UTC),
}


def test_a_well_formed_event_is_accepted_with_schema_version_one() -> None:
    assert NewEvent(**VALID).schema_version == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"payload": {"share": 0.5}}, "payload.share"),
        ({"payload": {"nested": [{"x": 1.0}]}}, r"payload.nested\[0\].x"),
        ({"payload": {"big": 2**53}}, "payload.big"),
        ({"payload": {"clé": 1}}, "payload"),
        ({"payload": {"when": datetime(2004, 1, 1, tzinfo=UTC)}}, "payload.when"),
        ({"payload": {"text": "\ud800"}}, "payload.text"),
        ({"decision_id": "D 2004"}, "decision_id"),
        ({"stream_version": 0}, "stream_version"),
        ({"event_id": "not-a-uuid"}, "event_id"),
        ({"event_id": event_id_for("d-2004-terrorism", 1).upper()}, "event_id"),
        ({"event_id": event_id_for("d-2004-terrorism", 2)}, "event_id"),
        ({"event_id": "5f0c6a8e-3c39-5c4b-9d44-0b8f4cbd6a11"}, "event_id"),
        ({"type": "proposal submitted"}, "type"),
        ({"actor": ""}, "actor"),
        ({"occurred_at": datetime(2004, 12, 9)}, "occurred_at"),
        ({"signature": "x"}, "signature"),
    ],
)
def test_malformed_input_is_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput, match=rf"^{field}: "):
        NewEvent(**(VALID | change))


def test_a_new_event_cannot_be_changed() -> None:
    event = NewEvent(**VALID)

    with pytest.raises(Exception, match="frozen"):
        event.actor = "USA"  # type: ignore[misc]


@given(
    decision_id=st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,62}\Z"),
    stream_version=st.integers(min_value=1, max_value=2**53 - 1),
)
def test_event_ids_are_the_uuid5_of_decision_and_version(
    decision_id: str, stream_version: int
) -> None:
    expected = uuid.uuid5(EVENT_ID_NAMESPACE, f"{decision_id}/{stream_version}")

    assert event_id_for(decision_id, stream_version) == str(expected)


def test_an_event_id_not_derived_from_decision_and_version_is_refused_naming_the_rule() -> None:
    with pytest.raises(
        InvalidInput, match=r"^event_id: .* the id derived from d-2004-terrorism v1"
    ):
        NewEvent(**(VALID | {"event_id": str(uuid.uuid4())}))
