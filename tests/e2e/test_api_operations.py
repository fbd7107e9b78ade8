"""What operators watch the API by: liveness, readiness of what it depends on, and metrics."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from store.revisions import head_revision
from tests.e2e.conftest import Api, round_open
from tests.integration.store.raw_sql import raw_transaction

pytestmark = [pytest.mark.e2e]


async def test_liveness_and_readiness_need_no_token_and_name_each_dependency(api: Api) -> None:
    live = await api.http.get("/healthz")
    ready = await api.http.get("/readyz")

    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "checks": {"temporal": "ok", "event_store": "ok"}}


async def test_a_store_behind_this_codes_schema_is_not_ready_and_says_to_come_back(
    api: Api,
) -> None:
    async with raw_transaction(api.store.url) as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = '0011'"))
    try:
        response = await api.http.get("/readyz")
    finally:
        async with raw_transaction(api.store.url) as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()}
            )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    document = response.json()
    assert document["status"] == "not ready" and document["checks"]["temporal"] == "ok"
    assert "schema revision 0011, older than this code's" in document["checks"]["event_store"]
    assert (await api.http.get("/readyz")).status_code == 200, "ready again once upgraded"


async def test_metrics_count_requests_by_route_and_refusals_by_rule(api: Api) -> None:
    decision = "d-api-metrics"
    number, text_hash = await round_open(api, decision)
    concurrence = {"round": number, "text_hash": text_hash}
    path = f"/decisions/{decision}/concurrences"
    assert (await api.post("RUS", path, concurrence)).status_code == 201
    again = await api.post("RUS", path, concurrence)
    assert again.status_code == 409, again.text
    rule = again.json()["error"]["code"]
    await api.http.get("/healthz")

    anonymous = await api.http.get("/metrics")
    member = await api.http.get("/metrics", headers=api.auth("RUS"))
    response = await api.http.get("/metrics", headers=api.auth("auditor"))

    assert (anonymous.status_code, member.status_code) == (401, 403)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    route = "/decisions/{decision_id}/concurrences"
    assert f'concord_api_requests_total{{method="POST",route="{route}",status="201"}} 1.0' in lines
    assert f'concord_api_requests_total{{method="POST",route="{route}",status="409"}} 1.0' in lines
    assert 'concord_api_requests_total{method="GET",route="/healthz",status="200"} 1.0' in lines
    assert f'concord_api_refusals_total{{rule="{rule}"}} 1.0' in lines
    assert any(
        line.startswith(f'concord_api_request_seconds_count{{route="{route}"}}') for line in lines
    )
    assert "Bearer" not in response.text and "RUS" not in response.text
