"""What a browser is told, and what one client may ask: strict headers on every answer, a 429
that says when to come back, bad tokens limited per address before any is looked at, the portal
counted with its token, one whole-log verification at a time and off the event loop, a chunked
body over the limit refused as too large, private tiles, documentation from the package."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from api.errors import RateLimited
from api.limits import Limits
from api.main import api_app
from api.server import serving
from api.verifying import Verification
from tests.e2e.conftest import Api, round_open
from tests.ports import free_port
from tests.security.test_sessions import sign_in
from tests.shutdown import bounded

HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


@asynccontextmanager
async def limited_api(api: Api, limits: Limits) -> AsyncIterator[httpx.AsyncClient]:
    """The same stack's API on a port of its own, with `limits`."""
    port = free_port()
    app = api_app(api.decisions, api.store, limits)
    async with (
        bounded(f"the API on 127.0.0.1:{port}", serving(app, "127.0.0.1", port)),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        yield http


async def test_every_page_and_document_forbids_framing_sniffing_and_outside_scripts(
    api: Api,
) -> None:
    answers = [
        await api.http.get("/portal/sign-in"),
        await api.http.get("/decisions", headers=api.auth("RUS")),
        await api.http.get("/decisions"),  # an error document too
        await api.http.get("/docs"),
    ]
    for answer in answers:
        for name, value in HEADERS.items():
            assert answer.headers.get(name) == value, (answer.url, name)
        policy = answer.headers["content-security-policy"]
        for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"):
            assert directive in policy, (answer.url, policy)
        assert "form-action 'self'" in policy and "base-uri 'none'" in policy
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert "strict-transport-security" not in answer.headers, "not over plain HTTP"


async def test_over_tls_the_api_asks_browsers_to_keep_to_tls(api: Api) -> None:
    app = api_app(api.decisions, api.store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://concord.example") as tls:
        answer = await tls.get("/portal/sign-in")
    assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_bad_tokens_from_one_address_are_limited_before_they_are_looked_at(
    api: Api,
) -> None:
    limits = Limits(failures_per_second=0.5, failure_burst=5)
    async with limited_api(api, limits) as http:
        bad = {"Authorization": "Bearer concord_0000000000000000_" + "x" * 43}
        statuses = [(await http.get("/decisions", headers=bad)).status_code for _ in range(8)]
        limited = await http.get("/decisions", headers=bad)
        good_meanwhile = await http.get("/decisions", headers=api.auth("RUS"))

    assert statuses[:5] == [401] * 5 and statuses[5:] == [429] * 3
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    # A good token is checked on its own: an address over its failures is refused outright
    # (the limit is per address, before the token is looked at), so a client that keeps
    # guessing cannot tell a good guess from a bad one.
    assert good_meanwhile.status_code == 429


async def test_the_portal_counts_against_its_tokens_rate_with_the_api(api: Api) -> None:
    async with limited_api(api, Limits(requests_per_second=0.2, burst=4)) as http:
        browser = await sign_in(
            Api(http, api.store, api.tokens, api.keys, api.log_key, api.decisions), "POL"
        )
        api_calls = [
            (await http.get("/roster", headers=api.auth("POL"))).status_code for _ in range(2)
        ]
        pages = [(await browser.get("/portal")).status_code for _ in range(3)]
        await browser.aclose()

    # The sign-in took one, the API two: the portal's third page is over the burst of four.
    assert api_calls == [200, 200]
    assert pages[:1] == [200] and 429 in pages, pages


async def test_one_whole_log_verification_at_a_time_and_the_api_answers_meanwhile(
    api: Api,
) -> None:
    await round_open(api, "d-security-verify")
    verification = Verification(api.store.url)
    first = asyncio.create_task(verification.report())
    await asyncio.sleep(0)  # the first has taken the turn and runs in its thread

    with pytest.raises(RateLimited, match="running already") as busy:
        await verification.report()
    health = await api.http.get("/healthz")
    report = await first

    assert busy.value.retry_after >= 1
    assert health.status_code == 200
    assert report.ok and report.events_checked >= 4


async def test_a_chunked_body_over_the_limit_is_refused_as_too_large(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(17):
            yield b"x" * 65_536  # 1.06 MiB in all, no length declared

    answer = await api.http.post(
        "/decisions",
        content=chunks(),
        headers=api.auth("POL") | {"Content-Type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "too_large"


async def test_tiles_that_need_a_token_are_not_kept_by_shared_caches(api: Api) -> None:
    await round_open(api, "d-security-tiles")
    width = min(await api.log_size(), 255)
    entries = await api.http.get(f"/log/tile/entries/000.p/{width}", headers=api.auth("auditor"))
    anonymous = await api.http.get(f"/log/tile/entries/000.p/{width}")
    assert (entries.status_code, anonymous.status_code) == (200, 401)
    assert entries.headers["cache-control"].startswith("private")


async def test_the_documentation_loads_nothing_from_outside(api: Api) -> None:
    page = await api.http.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(source.startswith("/") for source in sources), sources
    for source in sources:
        assert (await api.http.get(source)).status_code == 200, source


async def test_the_metrics_are_not_open_to_whoever_reaches_the_port(api: Api) -> None:
    anonymous = await api.http.get("/metrics")
    member = await api.http.get("/metrics", headers=api.auth("RUS"))
    assert (anonymous.status_code, member.status_code) == (401, 403)
