"""The API's command bodies and the CLI's parsing, fed hostile values (hypothesis and a fixed
list): each gives a command or InvalidInput naming the field (the API's 422, the CLI's exit 2),
never another exception, and a body the API accepts always makes a valid command."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from fastapi.responses import JSONResponse
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from api.commands import (
    ROUTES,
    ProposalRequest,
    SupersessionRequest,
    _without,
    body_model,
    requested_command,
)
from api.errors import MAX_FIELD_PART, invalid
from api.services import Services
from cli.parsing import build, duration_seconds, parse_as_of, parse_deadline, parse_duration
from domain import commands as cmd
from domain.errors import InvalidInput
from runtime.access import Caller, Role
from tests.hostile import (
    CASES,
    DECISION,
    FIXED,
    HOSTILE,
    STRINGS,
    Path,
    json_text,
    kind_of,
    paths_in,
    spoiled,
)

pytestmark = pytest.mark.slow

OPERATOR = Caller(Role.OPERATOR, "secretariat", "token-1")
NOW = datetime(2004, 12, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Route:
    """A command's route as the API builds it: its body model and what its path gives."""

    kind: str
    body: type[BaseModel]
    chairs: bool
    path_fields: tuple[str, ...] = ()

    def valid_body(self) -> dict[str, Any]:
        return {k: v for k, v in CASES[self.kind].fields.items() if k not in self.path_fields}

    def paths(self) -> list[Path]:
        return paths_in(self.valid_body(), self.body.model_fields)


ROUTE_LIST = (
    *(
        Route(
            kind_of(r.command),
            body_model(r.command, frozenset(r.path_fields)),
            r.chair,
            tuple(r.path_fields),
        )
        for r in ROUTES
    ),
    Route("submit_proposal", ProposalRequest, chairs=False),
    Route("supersede", SupersessionRequest, chairs=True),
)
BY_KIND = {route.kind: route for route in ROUTE_LIST}
PATHS = {route.kind: route.paths() for route in ROUTE_LIST}


def _as_received(value: Any) -> tuple[bool, Any]:
    """The value as the API reads it from a JSON body, or (False, None) when it cannot be
    sent as JSON or its JSON does not parse (FastAPI answers those itself: the e2e test)."""
    text = json_text(value)
    if text is None:
        return False, None
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


async def _received_by_the_api(route: Route, path: Path, value: Any) -> None:
    sent, received = _as_received(value)
    if not sent:
        return
    body = spoiled(route.valid_body(), path, received)
    try:
        request = route.body.model_validate(body)
    except ValidationError as error:
        refused = invalid(error)
        assert refused.field.split(".")[0] == str(path[0]), (route.kind, path, refused.field)
        assert len(refused.reason) <= 500, refused.reason[:200]
        JSONResponse(refused.document(), status_code=refused.http_status)  # renders as UTF-8
        return
    decision_id = DECISION
    if route.kind == "submit_proposal":  # the proposal's id goes to the command's envelope
        decision_id = getattr(request, "decision_id", None) or DECISION
        request = _without(request, "decision_id")
    extra = {name: CASES[route.kind].fields[name] for name in route.path_fields}
    # Only a Forbidden caller reaches the services (to log the refusal): an operator never is.
    no_services = cast(Services, None)
    command = await requested_command(
        no_services, OPERATOR, route.kind, decision_id, request, route.chairs, extra
    )
    assert command.kind == route.kind


def test_every_route_is_fuzzed_from_a_valid_body() -> None:
    for route in ROUTE_LIST:
        route.body.model_validate(route.valid_body())
    assert len(BY_KIND) == len(ROUTE_LIST) == len(ROUTES) + 2


@pytest.mark.parametrize("kind", sorted(BY_KIND))
@given(data=st.data())
async def test_a_hostile_value_in_a_body_is_a_command_or_invalid_input_naming_its_field(
    kind: str, data: st.DataObject
) -> None:
    route = BY_KIND[kind]
    path = data.draw(st.sampled_from(PATHS[kind]), label="path")
    await _received_by_the_api(route, path, data.draw(HOSTILE, label="value"))


@pytest.mark.parametrize("kind", sorted(BY_KIND))
async def test_every_listed_hostile_value_in_a_body_is_a_command_or_names_its_field(
    kind: str,
) -> None:
    route = BY_KIND[kind]
    for path in route.paths():
        for value in FIXED:
            await _received_by_the_api(route, path, value)


@pytest.mark.parametrize(
    "name", ["\ud800", "x\udcff", "../x", "a/b", "\x00", "\uff30OL", "k" * 10_000]
)
def test_an_unknown_field_is_refused_naming_it_in_a_document_that_renders(name: str) -> None:
    route = BY_KIND["concur"]
    with pytest.raises(ValidationError) as refused:
        route.body.model_validate({**route.valid_body(), name: 1})
    error = invalid(refused.value)
    # A name that is not UTF-8 cannot be named: the body is. Any other comes back, cut to its
    # first MAX_FIELD_PART characters when longer.
    named = name if len(name) <= MAX_FIELD_PART else name[:MAX_FIELD_PART] + "..."
    assert error.field in (named, "body"), error.field[:100]
    JSONResponse(error.document(), status_code=error.http_status)


def test_a_supersession_reason_with_control_characters_is_refused_by_its_body() -> None:
    # The body once took any string and left the command to refuse it, as `supersede.reason`.
    with pytest.raises(ValidationError) as refused:
        SupersessionRequest.model_validate({"superseded_by": "d-later", "reason": "\x1b[2J"})
    assert invalid(refused.value).field == "reason"


# --- the command line ------------------------------------------------------------------------

TYPED = st.one_of(
    st.sampled_from(STRINGS),
    st.text(st.characters(exclude_categories=()), max_size=40),
    st.from_regex(r"\A[0-9]{1,6000}[smhdw]?\Z"),
    st.from_regex(r"\A[0-9]{1,5}-[0-9]{2}-[0-9]{2}(T[0-9:.]{1,20}([+-][0-9:.]{1,15}|Z)?)?\Z"),
)
"""What a person can type as an option's value: any string (the shell's bytes that are not
UTF-8 arrive as lone surrogates), long runs of digits, instants with odd offsets."""


@given(typed=TYPED)
def test_a_typed_duration_or_instant_is_parsed_or_invalid_input_naming_its_option(
    typed: str,
) -> None:
    for parse in (parse_duration, parse_deadline, parse_as_of):
        try:
            parse(typed, "--deadline")
        except InvalidInput as refused:
            assert refused.field == "--deadline"
            assert len(refused.message) <= 500


@pytest.mark.parametrize(
    "typed", ["1000000000d", "99999999999999d", "1" * 5000 + "s", "9" * 16 + "h", "\uff13d"]
)
def test_a_duration_too_long_to_count_is_invalid_input_not_a_crash(typed: str) -> None:
    # Each of these once raised OverflowError or ValueError (Python reads no integer of more
    # than 4,300 digits) out of the command line.
    with pytest.raises(InvalidInput) as refused:
        parse_duration(typed, "--deadline")
    assert refused.value.field == "--deadline"


INSTANT_OPTIONS = frozenset({"deadline", "new_deadline", "report_back_deadline", "review_deadline"})
DURATION_OPTIONS = frozenset({"reminder_before_seconds", "review_period_seconds"})
NUMBER_OPTIONS = frozenset({"round", "issue", "max_failed_rounds"})


@pytest.mark.parametrize("kind", sorted(BY_KIND))
@given(data=st.data())
def test_a_hostile_option_is_a_command_or_invalid_input_naming_the_option(
    kind: str, data: st.DataObject
) -> None:
    payload = CASES[kind].payload(kind)
    model = type(cmd.COMMAND_ADAPTER.validate_python(payload))
    name = data.draw(st.sampled_from([n for n in model.model_fields if n != "kind"]))
    typed: Any = data.draw(
        st.integers(-(10**400), 10**400) if name in NUMBER_OPTIONS else TYPED, label=name
    )
    try:
        if name in INSTANT_OPTIONS:  # as the CLI reads them before it builds the command
            typed = parse_deadline(typed, "--deadline", NOW)
        elif name in DURATION_OPTIONS:
            typed = duration_seconds(typed, "--remind-before")
        build(model, **{**payload, "kind": kind, name: typed})
    except InvalidInput as refused:
        assert refused.field.startswith("--"), refused.field
        assert len(refused.message) <= 500, refused.message[:200]


def test_a_body_that_is_not_json_is_refused_naming_the_body() -> None:
    route = BY_KIND["concur"]
    with pytest.raises(ValidationError) as refused:
        route.body.model_validate_json(b'{"round": 1, "text_hash": "\x01"')
    error = invalid(refused.value)
    assert (error.field, error.http_status) == ("body", 422)
    assert error.message.startswith("body: is not valid JSON (control character")
