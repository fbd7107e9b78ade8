"""Concord's data converter (workflows.converter) writes and reads the very payloads the SDK's
pydantic converter does, so that any client of either speaks to a worker of the other, and the
committed histories mean what they meant; what it saves is building, not converting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pytest
from google.protobuf.message import Message
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import WithSerializationContext, WorkflowSerializationContext

from workflows.converter import DATA_CONVERTER, ConcordPayloadConverter, PydanticJSON
from workflows.messages import PendingResult, PendingRound, Receipt, StatusInput

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))

VALUES: list[tuple[Any, Any]] = [
    (None, None),
    (b"\x00raw bytes", bytes),
    (WorkflowExecution(workflow_id="decision-1", run_id="r"), WorkflowExecution),
    ("Rome Declaration — déclaration", str),
    (2**63, int),
    ({"b": [1, 2.5, None], "a": {"nested": True}}, dict[str, Any]),
    (datetime(2002, 11, 27, 12, 30, tzinfo=UTC), datetime),
    (
        Receipt(
            decision_id="d-1",
            idempotency_key="k",
            event_ids=("e1", "e2"),
            event_types=("ProposalSubmitted", "Referred"),
            stream_version=2,
            hashes=("h1", "h2"),
        ),
        Receipt,
    ),
    (
        PendingResult(
            decision_id="d-1",
            member="IT",
            rounds=(PendingRound(round=1, subject="s", text_hash="t", deadline="2026-12-08"),),
        ),
        PendingResult,
    ),
    (StatusInput(), StatusInput),
]


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every payload a protobuf message holds, at any depth."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = value.values()
            if field.message_type.fields_by_name["value"].message_type is None:
                continue
        else:
            items = value if field.is_repeated else [value]
        for item in items:
            yield from payloads_in(item)


@pytest.mark.parametrize(("value", "hint"), VALUES, ids=[type(v).__name__ for v, _ in VALUES])
def test_a_value_is_written_as_the_sdks_pydantic_converter_writes_it(value: Any, hint: Any) -> None:
    ours, theirs = ConcordPayloadConverter(), PydanticPayloadConverter()
    [written] = ours.to_payloads([value])
    assert written == theirs.to_payloads([value])[0]
    assert ours.from_payloads([written], [hint]) == theirs.from_payloads([written], [hint])
    assert ours.from_payloads([written], [hint]) == [value]


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_every_payload_of_a_committed_history_reads_and_writes_as_before(path: Path) -> None:
    history = WorkflowHistory.from_json("decision", path.read_text())
    ours, theirs = ConcordPayloadConverter(), PydanticPayloadConverter()
    found = 0
    for event in history.events:
        for payload in payloads_in(event):
            if payload.metadata.get("encoding") != b"json/plain":
                continue
            [value] = ours.from_payloads([payload])
            assert [value] == theirs.from_payloads([payload])
            assert ours.to_payloads([value]) == theirs.to_payloads([value])
            found += 1
    assert found > 0


def test_an_unhashable_type_hint_is_read_as_the_sdk_reads_it() -> None:
    hint: Any = Annotated[int, {"unhashable": []}]
    with pytest.raises(TypeError):
        hash(hint)
    [written] = ConcordPayloadConverter().to_payloads([7])
    assert ConcordPayloadConverter().from_payloads([written], [hint]) == [7]
    assert PydanticPayloadConverter().from_payloads([written], [hint]) == [7]


def test_a_payload_that_breaks_its_type_is_refused_as_the_sdk_refuses_it() -> None:
    broken = Payload(metadata={"encoding": b"json/plain"}, data=b'{"decision_id": 1}')
    refusals = []
    for converter in (ConcordPayloadConverter(), PydanticPayloadConverter()):
        with pytest.raises(ValidationError) as refused:
            converter.from_payloads([broken], [Receipt])
        refusals.append(refused.value.errors(include_url=False))
    assert refusals[0] == refusals[1]
    with pytest.raises(KeyError, match="Unknown payload encoding json/strange"):
        ConcordPayloadConverter().from_payloads([Payload(metadata={"encoding": b"json/strange"})])


def test_a_converter_built_for_each_activation_makes_nothing_until_it_decodes() -> None:
    converter = ConcordPayloadConverter()
    json = converter.converters[b"json/plain"]
    assert isinstance(json, PydanticJSON)
    assert json._adapters is None
    [written] = converter.to_payloads([StatusInput()])
    assert json._adapters is None
    converter.from_payloads([written, written], [StatusInput, StatusInput])
    assert json._adapters is not None
    assert json._adapters.cache_info().currsize == 1
    assert ConcordPayloadConverter().converters[b"json/plain"] is not json  # a run's own cache


def test_no_part_takes_a_serialization_context_so_none_is_given() -> None:
    converter = ConcordPayloadConverter()
    assert not any(isinstance(c, WithSerializationContext) for c in converter.converters.values())
    context = WorkflowSerializationContext(namespace="default", workflow_id="decision-1")
    assert converter.with_context(context) is converter
    assert DATA_CONVERTER.with_context(context) is DATA_CONVERTER
