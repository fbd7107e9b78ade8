"""Hostile bodies over real HTTP against the real stack: every command route answers each with a
4xx JSON error naming the field, records nothing, and leaves the decision's workflow healthy:
a valid command still succeeds, no run failed or was terminated, no workflow task failed, and
the decision still answers its query."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import BaseModel, ValidationError
from temporalio.api.enums.v1 import EventType

from api.commands import ROUTES, ProposalRequest, SupersessionRequest, body_model
from api.errors import MAX_FIELD_PART
from api.limits import MAX_BODY_BYTES
from runtime.access import Role
from tests.e2e.conftest import Api, round_open
from tests.hostile import (
    CASES,
    FIXED,
    MEGABYTES,
    Path,
    json_text,
    kind_of,
    nested,
    paths_in,
    spoiled,
)

pytestmark = pytest.mark.e2e

SAMPLES_PER_ROUTE = 12
SEED = 20_041_201
MARK = "__hostile__"
PATH_VALUES = {"round": "1", "issue": "1", "item_id": "A1"}


@dataclass(frozen=True)
class Route:
    kind: str
    path: str
    body: type[BaseModel]
    path_fields: tuple[str, ...] = ()

    def url(self, decision_id: str) -> str:
        if self.kind == "submit_proposal":
            return "/decisions"
        path = self.path
        for name in self.path_fields:
            path = path.replace("{" + name + "}", PATH_VALUES[name])
        return f"/decisions/{decision_id}{path}"

    def valid_body(self) -> dict[str, Any]:
        return {k: v for k, v in CASES[self.kind].fields.items() if k not in self.path_fields}


ROUTE_LIST = (
    *(
        Route(
            kind_of(r.command),
            r.path,
            body_model(r.command, frozenset(r.path_fields)),
            tuple(r.path_fields),
        )
        for r in ROUTES
    ),
    Route("submit_proposal", "", ProposalRequest),
    Route("supersede", "/supersession", SupersessionRequest),
)
BY_KIND = {route.kind: route for route in ROUTE_LIST}

KNOWN: tuple[tuple[str, Path, Any], ...] = (
    # Values that once got past the API's validation: a round beyond what the refusals log can
    # keep, control characters the supersession's body let through, an instant before year 1 in
    # UTC, a text of a byte-order mark alone, a monitoring body echoed whole in its refusal,
    # control characters in an action item's description and an area's label.
    ("concur", ("round",), 2**63),
    ("supersede", ("reason",), "\x1b[2J"),
    ("extend_deadline", ("new_deadline",), "0001-01-01T00:00:00+14:00"),
    ("amend", ("text",), "\ufeff"),
    ("plan_implementation", ("monitoring_body",), "PC" * 50_000),
    ("plan_implementation", ("action_items", 0, "description"), "\x1b[2J"),
    ("submit_proposal", ("area_label",), "Terror\x00ism"),
)


def _body(route: Route, path: Path, value: Any) -> bytes | None:
    """The route's valid body with `value` at `path`, as raw JSON bytes (None if JSON has no
    such value)."""
    fragment = json_text(value)
    if fragment is None:
        return None
    document = json.dumps(spoiled(route.valid_body(), path, MARK)).encode()
    return document.replace(json.dumps(MARK).encode(), fragment)


def _refused_by_the_body(route: Route, raw: bytes) -> bool:
    """Whether the API's own body model refuses `raw` (or no JSON parser reads it): a body it
    would take is a command, and this test sends none."""
    try:
        route.body.model_validate(json.loads(raw))
    except (ValueError, RecursionError, ValidationError):
        return True
    return False


def _sample(route: Route) -> Iterator[tuple[Path, bytes]]:
    """The known hostile values for the route, then a fixed-seed sample of the listed ones, each
    in one field of an otherwise valid body."""
    for kind, path, value in KNOWN:
        if kind == route.kind and (raw := _body(route, path, value)) is not None:
            yield path, raw
    pick = random.Random(f"{SEED}-{route.kind}")
    paths = paths_in(route.valid_body(), route.body.model_fields)
    found = 0
    for _ in range(500):
        if found == SAMPLES_PER_ROUTE:
            return
        path = pick.choice(paths)
        raw = _body(route, path, pick.choice(FIXED))
        if raw is not None and _refused_by_the_body(route, raw):
            found += 1
            yield path, raw


def _parses(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except (ValueError, RecursionError):
        return False
    return True


async def _answered(api: Api, who: str, url: str, raw: bytes, path: Path | None) -> None:
    """A 4xx JSON error document; 422 naming `path`'s field when the body is JSON that parses
    and fits the limit."""
    headers = {**api.auth(who), "Content-Type": "application/json"}
    response = await api.http.post(url, content=raw, headers=headers)
    shown = f"{url} {path}: {response.status_code} {response.text[:300]}"
    assert 400 <= response.status_code < 500 and response.status_code != 429, shown
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"} and error["message"], shown
    if len(raw) > MAX_BODY_BYTES:
        assert response.status_code == 413, shown
    elif path is not None and _parses(raw):
        assert response.status_code == 422 and error["code"] == "invalid_input", shown
        assert str(error["field"]).split(".")[0] == str(path[0]), shown
    elif not _parses(raw) and response.status_code != 404:
        assert response.status_code == 422 and error["code"] == "invalid_input", shown
        assert error["field"] == "body", shown
    assert len(str(error["field"])) <= 3 * (MAX_FIELD_PART + 3) + 2, shown


async def _token(api: Api, name: str) -> str:
    """A fresh operator token: each batch has its own rate limit (bursts of 100)."""
    api.keys[name] = (await api.tokens.issue(Role.OPERATOR, name, "operator:test")).token
    return name


async def test_hostile_bodies_get_4xx_naming_the_field_and_leave_the_workflow_healthy(
    api: Api,
) -> None:
    decision = f"d-hostile-{uuid.uuid4().hex[:8]}"
    number, text_hash = await round_open(api, decision)
    head = await api.log_size()

    sent = 0
    for n, route in enumerate(ROUTE_LIST):
        who = await _token(api, f"hostile-{n}")
        for path, raw in _sample(route):
            await _answered(api, who, route.url(decision), raw, path)
            sent += 1
    assert sent >= SAMPLES_PER_ROUTE * len(ROUTE_LIST)

    # An enumeration's field nested just short of the JSON parser's limit once overflowed the
    # stack while pydantic printed it (500); the depth that does depends on the server's stack.
    for batch in range(2):
        who = await _token(api, f"hostile-deep-{batch}")
        for depth in range(900 + 50 * batch, 950 + 50 * batch):
            raw = json.dumps({"outcome": MARK}).encode()
            deep = json_text(nested(depth, mapping=False))
            assert deep is not None
            url = BY_KIND["complete_review"].url(decision)
            await _answered(api, who, url, raw.replace(json.dumps(MARK).encode(), deep), None)

    who = await _token(api, "hostile-paths")
    for bad_id in ("..", "D-UPPER", "a" * 64, "\x00", "d\u00e9", "a b", "-x", MEGABYTES[:5000]):
        raw = json.dumps({"round": number, "text_hash": text_hash}).encode()
        await _answered(api, who, f"/decisions/{quote(bad_id)}/concurrences", raw, None)
    await _answered(api, who, f"/decisions/{decision}/rounds/0/closure", b"{}", None)
    await _answered(api, who, f"/decisions/{decision}/rounds/10001/closure", b"{}", None)
    await _answered(api, who, f"/decisions/{decision}/action-items/a%2Fb/completion", b"{}", None)

    assert await api.log_size() == head, "a hostile body recorded something"

    # The same decision still takes valid commands, one with a deadline at the latest instant.
    extended = await api.ok(
        "operator",
        f"/decisions/{decision}/deadline-extensions",
        {
            "target": "round",
            "round": number,
            "new_deadline": "2999-12-31T23:59:59Z",
            "reason": "Capitals need time \u202e with a right-to-left override",
        },
    )
    concurred = await api.ok(
        "RUS", f"/decisions/{decision}/concurrences", {"round": number, "text_hash": text_hash}
    )
    assert extended["event_types"] == ["DeadlineExtended"]
    assert concurred["event_types"] == ["ConcurrenceRecorded"]
    assert await api.log_size() == head + 2

    broken = await api.decisions.runs("Failed", "Terminated", "TimedOut", "Canceled")
    assert [run for run in broken if run.decision_id == decision] == []
    handle = api.decisions.handle(decision)
    described = await handle.describe()
    assert described.status is not None and described.status.name == "RUNNING"
    history = await handle.fetch_history()
    failed_tasks = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert failed_tasks == [], "a workflow task failed: the decision could wedge"
    status = await api.decisions.status(decision)
    assert status.state is not None and status.state.status.value == "under_consensus"
    assert status.stored_version == status.state.version
    state = await api.get("auditor", f"/decisions/{decision}")
    assert state["rounds"][0]["deadline"].startswith("2999-12-31T23:59:59")


def test_every_command_route_is_sent_hostile_bodies() -> None:
    assert {route.kind for route in ROUTE_LIST} == set(BY_KIND)
    for route in ROUTE_LIST:
        assert route.body.model_validate(route.valid_body())
        assert len(list(_sample(route))) >= SAMPLES_PER_ROUTE, route.kind
    assert {kind for kind, _, _ in KNOWN} <= set(BY_KIND)
