"""Portal sessions hold no secret and open no door: the cookie is a random id, signing out and
revoking end it, an idle session ends, and no other site can sign a browser in."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.portal.sessions import COOKIE, SIGN_IN_COOKIE
from domain.errors import Unauthenticated
from store.schema import portal_sessions
from store.sessions import IDLE
from tests.e2e.conftest import Api

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def sign_in(api: Api, who: str) -> httpx.AsyncClient:
    """A browser-like client signed in to the portal with `who`'s token."""
    client = httpx.AsyncClient(base_url=str(api.http.base_url), timeout=30)
    form = await client.get("/portal/sign-in")
    [csrf] = CSRF.findall(form.text)
    answer = await client.post("/portal/sign-in", data={"token": api.keys[who], "csrf": csrf})
    assert answer.status_code == 303 and answer.headers["location"] == "/portal", answer.text
    assert COOKIE in client.cookies
    return client


def cookie_of(client: httpx.AsyncClient) -> str:
    value = client.cookies.get(COOKIE, path="/portal")
    assert value is not None
    return value


async def answers_with(api: Api, cookie: str) -> int:
    """The status a request to the portal's home gets with this session cookie alone."""
    async with httpx.AsyncClient(
        base_url=str(api.http.base_url), cookies={COOKIE: cookie}
    ) as copied:
        response = await copied.get("/portal")
    return response.status_code


async def test_the_session_cookie_holds_no_token_and_nothing_that_decodes_to_one(api: Api) -> None:
    client = await sign_in(api, "FRA")
    cookie = cookie_of(client)
    token = api.keys["FRA"]
    secret = token.split("_", 2)[2]  # concord_<id>_<secret>: the secret may hold "_" itself
    assert len(secret) == 43

    assert token not in cookie and secret not in cookie
    padded = cookie + "=" * (-len(cookie) % 4)
    for decode in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            decoded = decode(padded)
        except ValueError:
            continue
        assert secret.encode() not in decoded and token.encode() not in decoded
    stored = await api.store.tables.rows(portal_sessions.select())
    assert all(cookie not in str(tuple(row)) for row in stored), "only the id's hash is kept"
    await client.aclose()


async def test_a_copied_cookie_stops_working_once_its_session_signs_out(api: Api) -> None:
    client = await sign_in(api, "DEU")
    cookie = cookie_of(client)
    assert await answers_with(api, cookie) == 200
    home = await client.get("/portal")
    [csrf] = CSRF.findall(home.text)

    out = await client.post("/portal/sign-out", data={"csrf": csrf})

    assert out.status_code == 303
    assert await answers_with(api, cookie) == 303, "the copy is sent to sign in again"
    await client.aclose()


async def test_revoking_a_token_ends_every_session_opened_with_it(api: Api) -> None:
    first, second = await sign_in(api, "ITA"), await sign_in(api, "ITA")
    cookies = [cookie_of(first), cookie_of(second)]
    [record] = [t for t in await api.tokens.list() if t.name == "ITA" and t.revoked_at is None]

    await api.tokens.revoke(record.token_id, "operator:test")

    assert [await answers_with(api, c) for c in cookies] == [303, 303]
    for client in (first, second):
        await client.aclose()


async def test_an_idle_session_ends_and_a_busy_one_ends_at_its_lifetime(api: Api) -> None:
    sessions = api.store.sessions
    opened = datetime.now(UTC)
    session_id, session = await sessions.open("0123456789abcdef", now=opened)
    assert await sessions.read(session_id, now=opened + IDLE / 2) == session

    # Used at least once a half idle period, it still ends when its lifetime does.
    moment = opened
    while moment + IDLE / 2 < session.expires_at:
        moment += IDLE / 2
        await sessions.read(session_id, now=moment)
    with pytest.raises(Unauthenticated, match="expired"):
        await sessions.read(session_id, now=session.expires_at + timedelta(seconds=1))

    idle_id, _ = await sessions.open("0123456789abcdef", now=opened)
    with pytest.raises(Unauthenticated, match="expired"):
        await sessions.read(idle_id, now=opened + IDLE + timedelta(seconds=1))
    with pytest.raises(Unauthenticated, match="ended"):
        await sessions.read(idle_id, now=opened)  # and it is gone, not only refused


async def test_a_sign_in_posted_from_another_site_is_refused(api: Api) -> None:
    async with httpx.AsyncClient(base_url=str(api.http.base_url)) as attacker:
        # No sign-in cookie at all (the form was posted from another page).
        blind = await attacker.post("/portal/sign-in", data={"token": api.keys["NOR"]})
        # The attacker's own sign-in form token, with the victim's cookie of another form.
        form = await attacker.get("/portal/sign-in")
        [its_own] = CSRF.findall(form.text)
        attacker.cookies.set(SIGN_IN_COOKIE, "someone-elses-nonce", path="/portal/sign-in")
        forged = await attacker.post(
            "/portal/sign-in", data={"token": api.keys["NOR"], "csrf": its_own}
        )

    assert (blind.status_code, forged.status_code) == (403, 403)
    assert COOKIE not in attacker.cookies
