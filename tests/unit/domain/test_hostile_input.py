"""Hostile values in every field of every command (hypothesis): each payload is a valid command
or pydantic's ValidationError naming the field; a valid one is decided or refused, and what it
records can be stored and scheduled. Never another exception."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import pytest
from hypothesis import currently_in_test_context, given
from hypothesis import event as label_run
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.clock import due_commands
from domain.commands import COMMAND_ADAPTER, Command, command_of
from domain.decider import decide, evolve
from domain.errors import ConcordError
from domain.events import event_payload, parse_event
from domain.nrc import NRC_ROSTERS
from domain.roster import CHAIR
from domain.state import DecisionState
from store.hashing import canonical_json, format_instant
from tests.hostile import (
    CASES,
    DECISION,
    DEEP_DICT,
    FIXED,
    HOSTILE,
    KINDS,
    MEGABYTES,
    ROUND_HASH,
    Path,
    nested,
    paths_in,
    spoiled,
)
from tests.unit.domain.scenario import Scenario


def _stage(name: str) -> Scenario:
    s = Scenario()
    if name == "none":
        return s
    s.proposed()
    if name == "in_review":
        s.do("refer", CHAIR)
    elif name == "forwarded":
        s.forwarded()
    elif name in ("round_open", "objected"):
        s.round_open(reminder_before_seconds=86_400)
        if name == "objected":
            s.do("break_silence", "RUS", round=1, text_hash=ROUND_HASH, reasons="Too narrow")
    elif name == "adopted":
        s.adopted()
    elif name in ("planned", "issue_raised", "items_done"):
        s.planned(reminder_before_seconds=86_400)
        if name == "issue_raised":
            s.do("raise_issue", "POL", title="Uneven contributions")
        if name == "items_done":
            s.do("complete_action_item", CHAIR, item_id="A1")
            s.do("complete_action_item", "RUS", item_id="A2")
            s.do("complete_action_item", CHAIR, item_id="A3")
    elif name == "suspended":
        s.do("suspend", CHAIR, reason="Consultations")
    return s


@cache
def _decision(kind: str) -> tuple[DecisionState | None, datetime]:
    """The state a command of `kind` is given on, and the instant it is given."""
    s = _stage(CASES[kind].stage)
    return s.state, s.now + CASES[kind].after


@cache
def _paths(kind: str) -> list[Path]:
    """Every field of the command, and every field inside the items and assignees it holds."""
    model = type(COMMAND_ADAPTER.validate_python(CASES[kind].payload(kind)))
    return paths_in(CASES[kind].fields, [name for name in model.model_fields if name != "kind"])


def _refused_naming(error: ValidationError, kind: str, path: Path) -> None:
    """The first problem (the one the API and the CLI report) names the field at `path`, or a
    field inside it, or the item that holds it, in a message of reasonable length."""
    first = error.errors(include_url=False)[0]
    location = tuple(first["loc"])
    assert location[:1] == (kind,), location  # the union's tag, which adapters drop
    inside = location[1:]
    assert inside, f"{kind}: the error names no field for {path}"
    shared = min(len(inside), len(path))
    assert inside[:shared] == path[:shared], f"{kind}: {path} reported at {inside}"
    assert len(first["msg"]) <= 500, f"{kind}.{path}: a message of {len(first['msg'])} characters"
    assert str(error)


def _label(outcome: str) -> None:
    """Count the outcome among hypothesis's statistics, when hypothesis runs the test."""
    if currently_in_test_context():
        label_run(outcome)


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""What no string of an accepted command holds: terminal escapes, bells, NUL (tabs and line
breaks are a text's own)."""


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for held in value.values():
            yield from _strings(held)
    elif isinstance(value, list | tuple):
        for held in value:
            yield from _strings(held)


def _decided_or_refused(kind: str, command: Command) -> None:
    """The rules decide the command without an unexpected exception; its events go to the log
    as canonical JSON, read back, fold, and leave a clock that can be scheduled."""
    state, now = _decision(kind)
    if command.decision_id != DECISION:
        state = None  # a command goes to its own decision's workflow: here, one not proposed
    try:
        events = decide(state, command, now, NRC_ROSTERS)
    except ConcordError as refused:
        _label(f"refused: {refused.code}")
        assert 0 < len(refused.message) <= 500, f"{kind}: {refused.message[:200]!r}..."
        return
    _label("accepted")
    unclean = [v for v in _strings(command.model_dump()) if CONTROL_CHARACTERS.search(v)]
    assert unclean == [], f"{kind} carries control characters into the log"
    for produced in events:
        payload = event_payload(produced)
        canonical_json(payload)
        format_instant(produced.occurred_at)
        envelope = {k: v for k, v in produced.model_dump(mode="json").items() if k not in payload}
        assert parse_event(envelope, json.loads(canonical_json(payload))) == produced
        state = evolve(state, produced)
    assert state is not None
    assert DecisionState.model_validate_json(state.model_dump_json()) == state
    for due in due_commands(state):
        format_instant(due.at)  # in UTC, as the log and the workflow's timers take it
    assert COMMAND_ADAPTER.validate_json(command.model_dump_json()) == command


@pytest.mark.parametrize("kind", KINDS)
def test_the_valid_command_of_each_kind_is_accepted_where_it_is_given(kind: str) -> None:
    state, now = _decision(kind)
    command = COMMAND_ADAPTER.validate_python(CASES[kind].payload(kind))
    assert decide(state, command, now, NRC_ROSTERS), "the fuzzing would only reach refusals"


def _hostile_payload(kind: str, path: Path, value: Any) -> None:
    """The valid command of `kind` with `value` at `path`: refused naming that field, or decided
    (accepted or refused by the rules) without an unexpected exception."""
    payload = spoiled(CASES[kind].payload(kind), path, value)
    try:
        command = COMMAND_ADAPTER.validate_python(payload)
    except ValidationError as error:
        _label("invalid")
        _refused_naming(error, kind, path)
        return
    _decided_or_refused(kind, command)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_a_hostile_value_in_any_field_is_a_valid_command_or_an_error_naming_that_field(
    kind: str, data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(_paths(kind)), label="path")
    _hostile_payload(kind, path, data.draw(HOSTILE, label="value"))


@pytest.mark.parametrize("kind", KINDS)
def test_every_listed_hostile_value_in_every_field_is_a_valid_command_or_names_that_field(
    kind: str,
) -> None:
    for path in _paths(kind):
        for value in FIXED:
            _hostile_payload(kind, path, value)


ONCE_GOT_THROUGH = [
    # The enum's own lookup printed the input whole, and overflowed the stack (the API's 500).
    pytest.param("complete_review", ("outcome",), nested(2_000, False), "Input", id="deep-enum"),
    pytest.param(
        "plan_implementation",
        ("action_items", 0, "assignee", "kind"),
        DEEP_DICT,
        "Input",
        id="deep-assignee-kind",
    ),
    # A byte-order mark alone became an empty text, which no event could hold.
    pytest.param("submit_proposal", ("text",), "\ufeff", "byte-order mark", id="bom-text"),
    # An instant before year 1 in UTC overflowed the arithmetic of the round's reminder.
    pytest.param(
        "extend_deadline",
        ("new_deadline",),
        "0001-01-01T00:00:00+14:00",
        "no earlier than",
        id="year-0-deadline",
    ),
    pytest.param("open_round", ("deadline",), "1899-12-31T23:59:59Z", "no earlier than", id="1899"),
    # A sub-minute offset was lost in JSON on the way to the workflow: the instant moved.
    pytest.param(
        "open_round",
        ("deadline",),
        datetime(2005, 1, 1, tzinfo=timezone(timedelta(seconds=30))),
        "whole minutes",
        id="seconds-offset",
    ),
    pytest.param(
        "plan_implementation",
        ("action_items", 0, "due"),
        datetime(2005, 1, 1, tzinfo=timezone(timedelta(microseconds=1))),
        "whole minutes",
        id="microseconds-offset",
    ),
    # A number beyond 2**53 made the refusal unloggable (canonical JSON): the API answered 422
    # about `command.round` instead of the refusal.
    pytest.param("concur", ("round",), 2**63, "less than or equal to 10000", id="round-2**63"),
    pytest.param(
        "propose_issue_resolution", ("issue",), 10_001, "less than or equal to", id="issue"
    ),
    # Any string: a megabyte came back whole in the refusal's message.
    pytest.param(
        "plan_implementation", ("monitoring_body",), MEGABYTES, "pattern", id="megabyte-body"
    ),
    # Control characters reached the log, then a terminal.
    pytest.param(
        "plan_implementation",
        ("action_items", 0, "description"),
        "\x1b[2J",
        "U+001B",
        id="escape-in-item",
    ),
    pytest.param("submit_proposal", ("area_label",), "Terror\x00ism", "U+0000", id="nul-label"),
    pytest.param("schedule_agenda_item", ("detail",), "\x07", "U+0007", id="bell-in-detail"),
]


@pytest.mark.parametrize(("kind", "path", "value", "reason"), ONCE_GOT_THROUGH)
def test_a_value_that_once_got_through_is_refused_naming_its_field(
    kind: str, path: Path, value: Any, reason: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        COMMAND_ADAPTER.validate_python(spoiled(CASES[kind].payload(kind), path, value))
    _refused_naming(refused.value, kind, path)
    assert reason in refused.value.errors()[0]["msg"]


def test_an_unknown_field_with_a_hostile_name_is_refused_naming_it_or_the_command() -> None:
    for name in ("\ud800", "../x", "x" * 100_000, "\x00", "\uff30OL", "recorded_by "):
        with pytest.raises(ValidationError) as refused:
            COMMAND_ADAPTER.validate_python({**CASES["concur"].payload("concur"), name: 1})
        location = refused.value.errors()[0]["loc"]
        assert location in (("concur", name), ("concur",)), location


def test_a_hostile_kind_is_refused_as_no_command_of_that_kind() -> None:
    for kind in ("", "\ud800", "../concur", "x" * 1_000_000, "CONCUR"):
        with pytest.raises(ValidationError) as refused:
            command_of(kind, DECISION, "RUS")
        assert refused.value.errors()[0]["type"] == "union_tag_invalid"
    # No adapter lets a caller choose the kind (the API's route and the CLI's command do); a
    # list nested a thousand deep is refused too, but pydantic-core reports, as unraisable, the
    # RecursionError of printing it into its message, which pytest turns into a failure.
    for not_a_kind in (None, 1, [["concur"]], {"kind": "concur"}, float("nan")):
        with pytest.raises(ValidationError):
            COMMAND_ADAPTER.validate_python({"kind": not_a_kind, "decision_id": DECISION})
