"""In a real browser (Chromium), the portal's pages keep to their policy: a script injected
into a page does not run, no other site may frame it, and the session cookie is out of reach of
scripts."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Error

from tests.e2e.conftest import Api
from tests.e2e.test_portal import browser, signed_in  # noqa: F401  (the browser fixture)


async def test_an_injected_script_does_not_run_and_the_cookie_is_out_of_its_reach(
    api: Api,
    browser: Browser,  # noqa: F811
) -> None:
    page = await signed_in(browser, api, "CAN")

    with pytest.raises(Error, match="Content Security Policy"):
        await page.add_script_tag(content="window.injected = document.cookie")
    assert await page.evaluate("window.injected === undefined")
    # The driver may read the page (as devtools would); a script of the page's sees no cookie.
    assert await page.evaluate("document.cookie") == ""


async def test_another_site_cannot_frame_a_portal_page(
    api: Api,
    browser: Browser,  # noqa: F811
) -> None:
    page = await signed_in(browser, api, "CAN")
    framed_url = f"{api.http.base_url}/portal"
    await page.set_content(f'<iframe id="f" src="{framed_url}"></iframe>')
    await page.wait_for_timeout(1000)
    frame = page.frame_locator("#f")
    assert await frame.locator("main").count() == 0, "the framed portal was shown"
