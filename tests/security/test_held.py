"""The attacks that held when Concord was tried as a security reviewer would, kept so they go on
holding: roles, revocation, injection, traversal, open redirects and idempotency races."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import Api, proposed, round_open
from tests.security.test_sessions import sign_in


async def test_a_member_cannot_answer_in_another_members_name_nor_an_auditor_at_all(
    api: Api,
) -> None:
    number, text_hash = await round_open(api, "d-held-roles")
    answer = {"round": number, "text_hash": text_hash}
    path = "/decisions/d-held-roles/objections"

    as_other = await api.post("FRA", path, answer | {"actor": "DEU", "reasons": "Not ours."})
    as_auditor = await api.post("auditor", path, answer | {"reasons": "Not ours."})
    chairs = await api.post("FRA", "/decisions/d-held-roles/rounds/1/closure", {})

    assert (as_other.status_code, as_auditor.status_code) == (403, 403)
    assert chairs.status_code in (403, 404, 405)
    events = await api.get("auditor", "/decisions/d-held-roles/events")
    assert not any(e["type"] == "SilenceBroken" for e in events["events"])


async def test_a_revoked_token_is_refused_at_once(api: Api) -> None:
    [record] = [t for t in await api.tokens.list() if t.name == "ESP" and t.revoked_at is None]
    assert (await api.http.get("/roster", headers=api.auth("ESP"))).status_code == 200
    await api.tokens.revoke(record.token_id, "operator:test")
    refused = await api.http.get("/roster", headers=api.auth("ESP"))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"


async def test_markup_in_a_title_is_shown_as_text_in_the_portal(api: Api) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    await api.ok(
        "POL",
        "/decisions",
        {
            "decision_id": "d-held-markup",
            "title": hostile,
            "text": hostile,
            "area": "struggle_against_terrorism",
        },
    )
    browser = await sign_in(api, "operator")
    for _ in range(50):
        page = await browser.get("/portal/decisions/d-held-markup")
        if page.status_code == 200:
            break
        await asyncio.sleep(0.1)
    await browser.aclose()

    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert" in page.text


async def test_no_path_under_log_reaches_outside_the_tiles(api: Api) -> None:
    await proposed(api, "d-held-traversal")
    for path in (
        "/log/tile/../../../../etc/passwd",
        "/log/tile/0/..%2F..%2F..%2Fetc%2Fpasswd",
        "/log/tile/%2e%2e/%2e%2e/etc/passwd",
        "/log/tile/entries/../../pyproject.toml",
    ):
        answer = await api.http.get(path, headers=api.auth("auditor"))
        assert answer.status_code in (404, 422), (path, answer.status_code)
        assert b"root:" not in answer.content and b"[project]" not in answer.content


async def test_the_language_switch_sends_nowhere_but_the_portal(api: Api) -> None:
    for target in ("https://evil.example/", "//evil.example/portal", "/portal//evil.example"):
        answer = await api.http.get("/portal/language/fr", params={"next": target})
        assert answer.status_code in (302, 303, 307)
        assert answer.headers["location"] == "/portal", target


async def test_ten_copies_of_one_answer_sent_at_once_are_recorded_once(api: Api) -> None:
    number, text_hash = await round_open(api, "d-held-race")
    answer = {"round": number, "text_hash": text_hash}
    path = "/decisions/d-held-race/concurrences"

    sent = await asyncio.gather(
        *(api.post("NLD", path, answer, key="nld-concurs-once") for _ in range(10))
    )

    assert {r.status_code for r in sent} == {201}, [r.text for r in sent if r.status_code != 201]
    assert len({tuple(r.json()["event_ids"]) for r in sent}) == 1
    events = await api.get("auditor", "/decisions/d-held-race/events")
    concurrences = [e for e in events["events"] if e["type"] == "ConcurrenceRecorded"]
    assert len(concurrences) == 1
