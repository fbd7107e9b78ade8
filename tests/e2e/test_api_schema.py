"""The API against its own OpenAPI document: generated requests (schemathesis, bounded) to
every route of a running `concord dev` find no 5xx and no response outside its schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXAMPLES_PER_ROUTE = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("concord-schema"))
    running.env["CONCORD_API_REQUESTS_PER_SECOND"] = "10000"  # the rate limit is tested elsewhere
    running.start()
    yield running
    assert running.stop() == 0


def test_generated_requests_find_no_server_error_and_no_response_outside_the_schema(
    stack: Stack, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{stack.env['CONCORD_API_PORT']}"
    stack.proposed("d-fuzz")  # one decision that exists, besides the ones made up
    token = stack.ok("tokens", "issue", "--operator", "fuzz")["token"]
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    statuses: dict[int, int] = {}
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document is invalid: {result.err()}"
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_ROUTE,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            response = case.call_and_validate(
                base_url=base, headers=headers, checks=CHECKS, timeout=30
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            exercise()
        except Exception as failure:
            failures.append(f"{operation.label}: {str(failure)[:600]}")
    assert operations >= 30, operations
    assert {200, 404, 422} <= set(statuses) and 429 not in statuses, statuses
    assert failures == [], "\n\n".join(failures)
