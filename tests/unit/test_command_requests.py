"""A command's request skips FastAPI's solving only when FastAPI would take it as it is, with the
same values: FastAPI itself is the oracle. Each route's endpoint signature is served by a plain
FastAPI route (the token's dependency overridden) that answers the values it was given; every
request is sent to it and to the endpoint's own reading (`CommandEndpoint.given`)."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from api.auth import authenticated
from api.commands import ROUTES, CommandEndpoint
from runtime.access import Caller, Role
from tests.hostile import CASES, FIXED, json_text, paths_in, spoiled

Case = tuple[dict[str, str], bytes, str | None, str | None]
"""A request: its path's values, its body, its content type and its idempotency key."""
MARK = "__hostile__"
JSON = "application/json"
OPERATOR = Caller(Role.OPERATOR, "secretariat", "token-1")
PATH_VALUES = {"round": "3", "issue": "2", "item_id": "A1"}
DECISION_IDS = ("d-2004-terrorism", "D-upper", "-lead", "d" * 63, "d" * 64, "d x", "d:x", "é")
NUMBERS = ("0", "-1", "01", " 1", "1 ", "1e3", "1.0", "\u0661", "9" * 40, "+2", "1_0")
ITEM_IDS = ("A1", "a.b-c_d", ".A", "A" * 32, "A" * 33)
KEYS = (None, "k-1", "", " ", "k" * 120, "k" * 121, "é", "a\tb")
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON",
    "text/plain",
    "application/x-www-form-urlencoded",
    None,
)


class Oracle:
    """FastAPI's own reading of one route's requests."""

    def __init__(self, endpoint: CommandEndpoint, path: str) -> None:
        app = FastAPI()

        async def answered(**given: Any) -> Response:
            return Response(_written(given))

        answered.__signature__ = endpoint.__signature__.replace(  # type: ignore[attr-defined]
            return_annotation=Response
        )
        app.add_api_route(path, answered, methods=["POST"])

        @app.exception_handler(RequestValidationError)
        async def refused(request: Request, error: RequestValidationError) -> Response:
            return Response(status_code=422)  # FastAPI's own would echo the input

        app.dependency_overrides[authenticated] = lambda: OPERATOR
        self.app = app
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://api")


def _written(given: dict[str, Any]) -> str:
    """The values an endpoint is given (but the caller and the request), written out."""
    values = {
        name: value.model_dump() if name == "body" else value
        for name, value in given.items()
        if name not in ("caller", "request")
    }
    return json.dumps(values, default=repr, sort_keys=True)


def _headers(content_type: str | None, key: str | None) -> list[tuple[bytes, bytes]]:
    headers = [(b"host", b"api")]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    if key is not None:
        headers.append((b"idempotency-key", key.encode()))
    return headers


async def _both(
    oracle: Oracle,
    endpoint: CommandEndpoint,
    path: dict[str, str],
    body: bytes,
    content_type: str | None = JSON,
    key: str | None = None,
) -> tuple[str | None, str | None]:
    """(FastAPI's values, or None when it refuses; the endpoint's, or None when it defers)."""
    url = "/decisions/{decision_id}" + endpoint.route.path
    for name, value in path.items():
        url = url.replace("{" + name + "}", value)
    headers = _headers(content_type, key)
    answer = await oracle.http.post(url, content=body, headers=headers)
    assert answer.status_code in (200, 400, 422), answer.text
    solved = answer.text if answer.status_code == 200 else None

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": url, "headers": headers}
    request = Request({**scope, "path_params": path, "query_string": b""}, receive)
    given = await endpoint.given(request)
    return solved, None if given is None else _written(given)


def _body(kind: str, path_fields: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in CASES[kind].fields.items() if k not in path_fields}


ENDPOINTS = [CommandEndpoint(route) for route in ROUTES]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.kind)
async def test_a_request_skips_fastapis_solving_only_as_fastapi_would_take_it(
    endpoint: CommandEndpoint,
) -> None:
    oracle = Oracle(endpoint, "/decisions/{decision_id}" + endpoint.route.path)
    fields = frozenset(endpoint.route.path_fields)
    valid = _body(endpoint.kind, fields)
    path = {"decision_id": "d-2004-terrorism"} | {name: PATH_VALUES[name] for name in fields}
    taken: list[tuple[Any, ...]] = []

    def variants() -> list[Case]:
        body = json.dumps(valid).encode()
        cases: list[Case] = [(path, body, JSON, None)]
        cases += [(path | {"decision_id": d}, body, JSON, None) for d in DECISION_IDS]
        for name in fields:
            values = ITEM_IDS if name == "item_id" else NUMBERS
            cases += [(path | {name: v}, body, JSON, None) for v in values]
        cases += [(path, body, JSON, k) for k in KEYS]
        cases += [(path, body, c, None) for c in CONTENT_TYPES]
        raw = (b"", b"{", b"[]", b"null", b'"text"', b"\xff\xfe", b'{"actor": "BEL"}')
        cases += [(path, b, JSON, None) for b in raw]
        for where in paths_in(valid, valid):
            spot = json.dumps(spoiled(valid, where, MARK)).encode()
            for value in FIXED:
                text = json_text(value)  # written out at any depth, bytes as they are
                if text is not None:
                    cases.append(
                        (path, spot.replace(b'"' + MARK.encode() + b'"', text), JSON, None)
                    )
        return cases

    cases = variants()
    for case_path, body, content_type, key in cases:
        solved, given = await _both(oracle, endpoint, case_path, body, content_type, key)
        if given is not None:
            assert solved == given, (case_path, body[:80], content_type, key)
            taken.append((case_path, body, content_type, key))
    assert cases[0] in taken, "a valid request is answered without FastAPI's solving"
    assert len(cases) > 30 and len(taken) < len(cases)


async def test_a_body_that_cannot_be_read_is_refused_as_fastapi_refuses_it() -> None:
    """A client that goes away while it sends its body: FastAPI answers 400 (which the API's
    error handler turns into the unreadable body's 422), never a defect."""
    endpoint = next(e for e in ENDPOINTS if e.kind == "concur")
    oracle = Oracle(endpoint, "/decisions/{decision_id}" + endpoint.route.path)
    path = "/decisions/d-2004-terrorism" + endpoint.route.path
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": _headers(JSON, None),
        "server": ("api", 80),
        "client": ("127.0.0.1", 5555),
        "http_version": "1.1",
    }

    async def gone() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    statuses: list[int] = []

    async def sent(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await oracle.app(scope, gone, sent)
    request = Request({**scope, "path_params": {"decision_id": "d-2004-terrorism"}}, gone)
    with pytest.raises(HTTPException) as refused:
        await endpoint.given(request)
    assert statuses == [refused.value.status_code] == [400]
