"""The HTTP API over real HTTP, against the real stack: the Temporal dev server, a worker, the
event store on SQLite, and the API on a free port; each delegation with its own token."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.limits import Limits
from api.main import api_app
from api.server import serving
from audit.checkpoint import open_checkpoint
from audit.merkle import leaf_hash, root_of
from audit.tree import caught_up
from runtime.access import Role
from runtime.logging import configure_logging
from tests.e2e.conftest import MEMBERS, Api, proposed, round_open
from tests.ports import free_port

pytestmark = pytest.mark.e2e


async def test_a_decision_runs_its_whole_life_by_each_delegations_own_token(api: Api) -> None:
    decision = "d-api-life"
    number, text_hash = await round_open(api, decision)
    assert len(MEMBERS) >= 20
    receipts = await asyncio.gather(
        *(
            api.ok(
                code,
                f"/decisions/{decision}/concurrences",
                {"round": number, "text_hash": text_hash},
            )
            for code in MEMBERS
        )
    )
    assert all(r["event_types"][0] == "ConcurrenceRecorded" for r in receipts)
    state = await api.get("RUS", f"/decisions/{decision}")
    assert state["status"] == "adopted"
    await api.ok(
        "operator",
        f"/decisions/{decision}/implementation-plan",
        {
            "action_items": [
                {
                    "item_id": "A1",
                    "description": "Joint assessment",
                    "assignee": {"kind": "all_members"},
                },
                {
                    "item_id": "A2",
                    "description": "Financing",
                    "assignee": {"kind": "member", "code": "RUS"},
                },
            ],
            "report_back_deadline": "2099-06-01T00:00:00Z",
        },
    )
    pending = await api.eventually(
        "RUS", "/members/RUS/pending", lambda p: any(r["item_id"] for r in p["pending"])
    )
    assert {row["item_id"] for row in pending["pending"]} == {"A1", "A2"}
    await api.ok(
        "GBR", f"/decisions/{decision}/progress-reports", {"item_id": "A1", "summary": "UK part"}
    )
    await api.ok("RUS", f"/decisions/{decision}/action-items/A2/completion", {"note": "Exchanged"})
    await api.ok("operator", f"/decisions/{decision}/action-items/A1/completion", {"actor": "PC"})
    await api.ok("operator", f"/decisions/{decision}/completion", {"summary": "Implemented"})

    events = (await api.get("auditor", f"/decisions/{decision}/events", limit=200))["events"]
    concurred = {e["actor"]: e["recorded_by"] for e in events if e["type"] == "ConcurrenceRecorded"}
    assert concurred == {code: f"member:{code}" for code in MEMBERS}, "each in its own name"
    on_behalf = next(e for e in events if e["type"] == "ActionItemCompleted" and e["actor"] == "PC")
    assert on_behalf["recorded_by"] == "operator:secretariat"
    assert events[-1]["type"] == "DecisionCompleted"
    page = await api.eventually(
        "RUS", "/decisions", lambda p: bool(p["decisions"]), state="completed"
    )
    assert [d["decision_id"] for d in page["decisions"]] == [decision]
    verified = await api.get("auditor", "/audit/verify")
    # The decision's events, and the one binding its archived history once the run archived it.
    assert verified["first_break"] is None
    assert verified["events_checked"] in (len(events), len(events) + 1)


async def test_each_refused_request_gets_its_status_and_records_nothing(api: Api) -> None:
    decision = "d-api-refusals"
    number, text_hash = await round_open(api, decision)
    concurrence = {"round": number, "text_hash": text_hash}
    path = f"/decisions/{decision}/concurrences"
    before = await api.log_size()

    async def status(response: httpx.Response, expected: int, code: str) -> dict[str, Any]:
        assert response.status_code == expected, response.text
        error: dict[str, Any] = response.json()["error"]
        assert error["code"] == code, error
        assert await api.log_size() == before, "nothing recorded in the event log"
        return error

    as_another = await api.post("RUS", path, {**concurrence, "actor": "USA"})
    await status(as_another, 403, "forbidden")
    await status(await api.post("auditor", path, concurrence), 403, "forbidden")
    await status(
        await api.post(
            "RUS", f"/decisions/{decision}/rounds", {"deadline": "2099-02-01T00:00:00Z"}
        ),
        403,
        "forbidden",
    )

    revoked = await api.tokens.issue(Role.MEMBER, "NOR", "operator:test")
    await api.tokens.revoke(revoked.record.token_id, "operator:test")
    api.keys["revoked"] = revoked.token
    await status(await api.post("revoked", path, concurrence), 401, "unauthenticated")
    expiring = await api.tokens.issue(Role.MEMBER, "NOR", "operator:test", timedelta(seconds=1))
    api.keys["expired"] = expiring.token
    await asyncio.sleep(1.2)
    await status(await api.post("expired", path, concurrence), 401, "unauthenticated")
    missing = await api.http.post(path, json=concurrence)
    await status(missing, 401, "unauthenticated")
    forged = await api.http.post(
        path, json=concurrence, headers={"Authorization": "Bearer concord_x"}
    )
    await status(forged, 401, "unauthenticated")

    huge = {"round": number, "text_hash": text_hash, "pad": "x" * 5_000_000}
    await status(await api.post("RUS", path, huge), 413, "too_large")
    unknown = await api.post("RUS", "/decisions/d-nothing-here/concurrences", concurrence)
    await status(unknown, 404, "not_found")
    stale = {"round": number, "text_hash": "sha256:" + "0" * 64}
    await status(await api.post("RUS", path, stale), 409, "stale_text")
    malformed = await api.post("RUS", path, {"round": "first", "text_hash": text_hash})
    error = await status(malformed, 422, "invalid_input")
    assert error["field"] == "round"

    first = await api.post("RUS", path, concurrence, key="k-1")
    assert first.status_code == 201
    before = await api.log_size()
    again = await api.post("RUS", path, concurrence, key="k-1")
    assert again.status_code == 201 and again.json() == first.json(), "the original receipt"
    assert await api.log_size() == before
    other = await api.post(
        "RUS", f"/decisions/{decision}/concerns", {"round": number, "statement": "x"}, key="k-1"
    )
    await status(other, 422, "invalid_input")
    # The key names that one command across decisions: on another decision it is refused,
    # naming the decision that holds it, and nothing is recorded there.
    named = {"decision_id": "d-api-key-elsewhere", "title": "T", "text": "x"}
    elsewhere = await api.post("RUS", "/decisions", named | {"area": "crisis_management"}, "k-1")
    refused = await status(elsewhere, 422, "invalid_input")
    assert refused["field"] == "idempotency_key"
    assert f"names a command on decision {decision}" in refused["message"]
    missing = await api.http.get("/decisions/d-api-key-elsewhere", headers=api.auth("RUS"))
    assert missing.status_code == 404

    # A proposal without its id, sent twice with its key, is one decision with one receipt.
    unnamed = {"title": "T", "text": "x", "area": "crisis_management"}
    once = await api.post("RUS", "/decisions", unnamed, key="k-unnamed")
    twice = await api.post("RUS", "/decisions", unnamed, key="k-unnamed")
    assert once.status_code == twice.status_code == 201 and once.json() == twice.json()

    refusals = await api.store.refusals.read(decision_id=decision)
    recorded = [(r.principal, r.kind, r.code) for r in refusals]
    assert ("member:RUS", "concur", "forbidden") in recorded
    assert ("auditor:ana", "concur", "forbidden") in recorded
    assert ("member:RUS", "open_round", "forbidden") in recorded
    assert ("member:RUS", "concur", "stale_text") in recorded
    audited = await api.get("auditor", "/audit/refusals", decision_id=decision)
    assert {r["code"] for r in audited["refusals"]} >= {"forbidden", "stale_text"}


async def test_the_openapi_document_names_every_route_and_error(api: Api) -> None:
    document = (await api.http.get("/openapi.json")).json()
    concur = document["paths"]["/decisions/{decision_id}/concurrences"]["post"]
    assert {"201", "401", "403", "404", "409", "413", "422", "429", "503"} <= set(
        concur["responses"]
    )
    assert (await api.http.get("/docs")).status_code == 200


async def test_decisions_are_listed_a_page_at_a_time_and_requests_logged_without_tokens(
    api: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("json")
    try:
        for number in range(3):
            await proposed(api, f"d-api-page-{number}")
        first = await api.eventually(
            "RUS", "/decisions", lambda p: p["next_cursor"] is not None, limit=2
        )
        second = await api.get("RUS", "/decisions", limit=2, cursor=first["next_cursor"])
        output = capsys.readouterr()
    finally:
        logging.getLogger().handlers.clear()
    listed = [d["decision_id"] for d in first["decisions"] + second["decisions"]]
    assert listed == ["d-api-page-2", "d-api-page-1", "d-api-page-0"], "newest first, no repeats"
    assert second["next_cursor"] is None
    bad = await api.http.get("/decisions", params={"cursor": "nonsense"}, headers=api.auth("RUS"))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "cursor"

    records = [json.loads(line) for line in output.err.splitlines() if line.startswith("{")]
    access = [r for r in records if r.get("event") == "api request"]
    proposal = next(r for r in access if r["method"] == "POST" and r["path"] == "/decisions")
    assert proposal["principal"] == "member:POL" and proposal["status"] == 201
    assert proposal["latency_ms"] > 0
    assert all(token not in output.err + output.out for token in api.keys.values())


async def test_the_transparency_log_is_served_under_log_with_the_specs_caching(api: Api) -> None:
    await round_open(api, "d-api-log")
    await caught_up(api.store)
    response = await api.http.get("/log/checkpoint")  # public: it reveals no text
    assert response.status_code == 200 and response.headers["cache-control"] == "no-cache"
    checkpoint = open_checkpoint(response.text, api.log_key, "nrc.example/concord")
    size = checkpoint.size
    assert size == (await api.store.head())[0] and size < 256

    bundle = await api.http.get(f"/log/tile/entries/000.p/{size}", headers=api.auth("RUS"))
    hashes = await api.http.get(f"/log/tile/0/000.p/{size}")  # public: hashes reveal no text
    assert bundle.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert hashes.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await api.http.get(f"/log/tile/entries/000.p/{size}")).status_code == 401
    entries, data = [], bundle.content
    while data:
        length = int.from_bytes(data[:2], "big")
        entries.append(data[2 : 2 + length])
        data = data[2 + length :]
    leaves = [hashes.content[i : i + 32] for i in range(0, len(hashes.content), 32)]
    assert leaves == [leaf_hash(e) for e in entries] and len(leaves) == size
    assert root_of(leaves) == checkpoint.root, "the tiles hash to the signed root"

    for missing in (f"/log/tile/0/000.p/{size + 1}", "/log/tile/0/001", "/log/tile/x/000"):
        gone = await api.http.get(missing, headers=api.auth("RUS"))
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"

    now = datetime.now(UTC).isoformat()
    at = await api.get("auditor", "/audit/decisions/d-api-log/state", as_of=now)
    assert at["state"]["status"] == "under_consensus" and at["from_snapshot"] is None
    member = await api.http.get(
        "/audit/decisions/d-api-log/state", params={"as_of": now}, headers=api.auth("RUS")
    )
    assert member.status_code == 403


async def test_a_token_over_its_rate_gets_429_naming_the_limit(api: Api) -> None:
    port = free_port()
    app = api_app(api.decisions, api.store, Limits(requests_per_second=0.5, burst=3))
    async with (
        serving(app, "127.0.0.1", port),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        answers = [
            (await http.get("/roster", headers=api.auth("RUS"))).status_code for _ in range(5)
        ]
        limited = await http.get("/roster", headers=api.auth("RUS"))
        other = await http.get("/roster", headers=api.auth("USA"))
    assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429]
    assert limited.headers["Retry-After"] == "2", "1 / 0.5 requests a second"
    error = limited.json()["error"]
    assert error["code"] == "rate_limited" and "0.5 requests per second" in error["message"]
    assert other.status_code == 200, "each token has its own rate"


async def test_the_council_its_sittings_and_a_bodys_pending_agenda_are_read_over_http(
    api: Api,
) -> None:
    council = await api.get("RUS", "/council")
    assert council["code"] == "NRC" and len(council["rosters"]) == 2
    assert {b["code"] for b in council["bodies"]} >= {"PC", "NRC-AMB", "WG-TERRORISM"}

    await proposed(api, "d-api-agenda")
    await api.ok("operator", "/decisions/d-api-agenda/referral", {})
    pending = await api.eventually(
        "auditor",
        "/bodies/PC/agenda",
        lambda a: any(i["decision_id"] == "d-api-agenda" for i in a["agenda"]),
    )
    item = next(i for i in pending["agenda"] if i["decision_id"] == "d-api-agenda")
    assert item["item"] == "proposal_for_review" and pending["next_sitting"] is not None

    assert (await api.get("operator", "/meetings"))["sittings"] == []
    report = {b["body"]: b for b in (await api.get("auditor", "/meetings/report"))["bodies"]}
    assert report["PC"]["held"] == 0 and report["PC"]["below_minimum"] is True
    assert report["NRC-HSG"]["minimum"] is None and report["NRC-HSG"]["below_minimum"] is False

    unknown = await api.http.get("/bodies/NOPE/agenda", headers=api.auth("RUS"))
    assert unknown.status_code == 404 and "no body NOPE" in unknown.json()["error"]["message"]
    missing = await api.http.get("/meetings/meeting.pc-20250108t1000z", headers=api.auth("RUS"))
    assert missing.status_code == 404
    reversed_window = await api.http.get(
        "/meetings",
        params={"from": "2026-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"},
        headers=api.auth("RUS"),
    )
    assert reversed_window.status_code == 422 and reversed_window.json()["error"]["field"] == "from"
