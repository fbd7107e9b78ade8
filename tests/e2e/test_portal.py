"""The portal in a browser (Playwright driving Debian's Chromium) against the real stack: the
Temporal dev server, a worker, the event store and the API's process serving the pages."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx
import pytest
from playwright.async_api import (
    Browser,
    Locator,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from tests.e2e.conftest import MEMBERS, Api, proposed, round_open
from tests.shutdown import bounded, stopped
from workflows.meeting import MeetingWorkflow
from workflows.messages import MeetingInput

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).parents[2] / "docs"
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
"""axe-core (MPL-2.0, vendor/axe-core-LICENSE), vendored: the suite runs offline."""
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        message = "chromium is not installed"
        if os.environ.get("CONCORD_REQUIRE_INTEROP") == "1":
            pytest.fail(f"{message}; CONCORD_REQUIRE_INTEROP=1 requires it", pytrace=False)
        pytest.skip(message)
    async with bounded("Playwright", async_playwright()) as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await stopped(f"Chromium ({CHROMIUM})", launched.close())


async def signed_in(browser: Browser, api: Api, who: str) -> Page:
    page = await browser.new_page()
    await page.goto(f"{api.http.base_url}/portal")
    await expect(page).to_have_url(re.compile(r"/portal/sign-in$"))
    await page.get_by_label("Access token").fill(api.keys[who])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/portal$"))
    return page


async def answered(page: Page, button: str, checking: str) -> None:
    """Give an answer from a decision's page: its button, then its confirmation page (titled
    `checking`), which records nothing until "Confirm"."""
    await page.get_by_role("button", name=button, exact=True).click()
    await expect(page.get_by_role("heading", name=checking)).to_be_visible()
    await expect(page.get_by_text("Nothing is recorded until you confirm.")).to_be_visible()
    await page.get_by_role("button", name="Confirm").click()


async def test_a_delegation_objects_then_withdraws_and_concurs_in_its_browser(
    api: Api, browser: Browser
) -> None:
    number, text_hash = await round_open(api, "d-portal")
    page = await signed_in(browser, api, "FRA")
    owed = page.get_by_role("table").first
    await expect(owed).to_contain_text(f"Round {number} on the decision")
    await page.get_by_role("link", name="Action Plan on Terrorism").first.click()
    await expect(page.get_by_text(f"0 of {len(MEMBERS)} concurred")).to_be_visible()
    await expect(page.get_by_text(text_hash)).to_be_visible()
    # The deadline counts down in the page (the script formats the number as the language does).
    await expect(page.locator(".countdown")).to_have_text(re.compile(r"^ends in \d{2},\d{3} days"))
    await page.screenshot(path=str(DOCS / "portal-delegation.png"), full_page=True)

    await page.get_by_label("Reasons").fill("Paragraph 3 needs another reading.")
    await answered(page, "Object", "Check your objection")
    await expect(page.get_by_role("cell", name="SilenceBroken")).to_be_visible()
    await page.get_by_role("link", name="Back to the decision").click()
    objected = page.locator(f"#r{number}-FRA")
    await expect(objected).to_contain_text("Objected Paragraph 3 needs another reading.")

    await answered(page, "Withdraw objection", "Check the withdrawal of your objection")
    await expect(page.get_by_role("cell", name="ObjectionWithdrawn")).to_be_visible()
    await page.get_by_role("link", name="Back to the decision").click()
    await answered(page, "Concur", "Check your concurrence")
    await expect(page.get_by_role("cell", name="ConcurrenceRecorded")).to_be_visible()
    await page.get_by_role("link", name="Back to the decision").click()
    await expect(page.get_by_text(f"1 of {len(MEMBERS)} concurred")).to_be_visible()
    await expect(page.locator(".govuk-summary-list__row", has_text="Your answer")).to_contain_text(
        "concurred"
    )

    state = await api.get("auditor", "/decisions/d-portal")
    [opened] = state["rounds"]
    assert opened["concurred"] == ["FRA"] and opened["objections"] == {}
    events = await api.get("auditor", "/decisions/d-portal/events")
    answers = [e for e in events["events"] if e["actor"] == "FRA"]
    assert [e["type"] for e in answers] == [
        "SilenceBroken",
        "ObjectionWithdrawn",
        "ConcurrenceRecorded",
    ]
    assert {e["recorded_by"] for e in answers} == {"member:FRA"}


async def tabbed_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until `target` has the focus, as someone without a mouse would."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("(control) => control === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


async def test_an_answer_is_checked_then_confirmed_from_the_keyboard_alone(
    api: Api, browser: Browser
) -> None:
    number, text_hash = await round_open(api, "d-portal-keyboard")
    page = await signed_in(browser, api, "ITA")
    await page.goto(f"{api.http.base_url}/portal/decisions/d-portal-keyboard")
    await tabbed_to(page, page.get_by_role("button", name="Concur", exact=True))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Check your concurrence")).to_be_visible()
    # What will be recorded, on which decision, round and text, in whose name: nothing yet.
    checked = page.locator(".govuk-summary-list")
    await expect(checked).to_contain_text("A concurrence: you agree to the text below")
    await expect(checked).to_contain_text("Action Plan on Terrorism (d-portal-keyboard)")
    await expect(checked).to_contain_text(f"Round {number} on the decision")
    await expect(checked).to_contain_text("The NRC rejects terrorism in all its manifestations.")
    await expect(checked).to_contain_text(text_hash)
    await expect(checked).to_contain_text("In the name of ITA")
    events = (await api.get("auditor", "/decisions/d-portal-keyboard/events"))["events"]
    assert [e for e in events if e["actor"] == "ITA"] == [], "nothing is recorded before Confirm"
    await page.screenshot(path=str(DOCS / "portal-confirmation.png"), full_page=True)

    await tabbed_to(page, page.get_by_role("button", name="Confirm"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("cell", name="ConcurrenceRecorded")).to_be_visible()
    events = (await api.get("auditor", "/decisions/d-portal-keyboard/events"))["events"]
    assert [e["type"] for e in events if e["actor"] == "ITA"] == ["ConcurrenceRecorded"]

    # Concurring and objecting do not look alike: the objection is the warning button.
    await page.goto(f"{api.http.base_url}/portal/decisions/d-portal-keyboard")
    await expect(page.get_by_role("button", name="Concur", exact=True)).to_have_count(0)
    member = await signed_in(browser, api, "ESP")
    await member.goto(f"{api.http.base_url}/portal/decisions/d-portal-keyboard")
    concur = member.get_by_role("button", name="Concur", exact=True)
    object_ = member.get_by_role("button", name="Object", exact=True)
    colour = "(button) => getComputedStyle(button).backgroundColor"
    assert await concur.evaluate(colour) != await object_.evaluate(colour)
    await expect(object_).to_have_class(re.compile("govuk-button--warning"))

    # On a phone the page fits the screen; printed, it is the record without the controls.
    await member.set_viewport_size(PHONE)
    await member.screenshot(path=str(DOCS / "portal-phone.png"), full_page=True)
    await member.emulate_media(media="print")
    await expect(object_).to_be_hidden()
    await expect(member.locator(f"#r{number}-ITA")).to_contain_text("Concurred")
    await expect(member.get_by_text("The NRC rejects terrorism")).to_be_visible()


async def test_a_refused_answer_is_a_page_naming_the_rule_and_is_kept_as_a_refusal(
    api: Api, browser: Browser
) -> None:
    await round_open(api, "d-portal-refused")
    page = await signed_in(browser, api, "DEU")
    await page.goto(f"{api.http.base_url}/portal/decisions/d-portal-refused")
    await answered(page, "Concur", "Check your concurrence")
    await expect(page.get_by_role("cell", name="ConcurrenceRecorded")).to_be_visible()
    # The same confirmation, sent again from the page the browser still has: the rule refuses it.
    await page.go_back()
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("heading", name="Refused by the procedure")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("DEU")
    await expect(page.get_by_text("The rule named above decided")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text(
        "This delegation has already concurred in this round. DEU has already concurred in round"
    )
    assert "Traceback" not in await page.content()
    refusals = await api.get("auditor", "/audit/refusals", decision_id="d-portal-refused")
    assert [r["principal"] for r in refusals["refusals"]] == ["member:DEU"]


async def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
    api: Api, browser: Browser
) -> None:
    number, text_hash = await round_open(api, "d-portal-csrf")
    page = await signed_in(browser, api, "ITA")
    [session] = [c for c in await page.context.cookies() if c["name"] == "concord_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    before = await api.log_size()
    async with httpx.AsyncClient(
        base_url=str(api.http.base_url), cookies={"concord_session": session["value"]}
    ) as other_site:
        forged = await other_site.post(
            "/portal/decisions/d-portal-csrf/concur",
            data={"round": str(number), "text_hash": text_hash, "csrf": "guessed"},
        )
    assert forged.status_code == 403 and "This form has expired" in forged.text
    assert "Not yours to do" not in forged.text
    assert await api.log_size() == before


async def test_the_secretariat_cannot_answer_for_a_member_and_a_revoked_token_ends_its_session(
    api: Api, browser: Browser
) -> None:
    await round_open(api, "d-portal-roles")
    page = await signed_in(browser, api, "operator")
    await page.goto(f"{api.http.base_url}/portal/decisions/d-portal-roles")
    await expect(page.get_by_role("button", name="Concur")).to_have_count(0)

    member = await signed_in(browser, api, "NOR")
    [record] = [t for t in await api.tokens.list() if t.name == "NOR" and t.revoked_at is None]
    await api.tokens.revoke(record.token_id, "operator:test")
    await member.goto(f"{api.http.base_url}/portal/decisions/d-portal-roles")
    await expect(member).to_have_url(re.compile(r"/portal/sign-in$"))


async def test_the_secretariats_board_shows_answers_as_they_arrive_without_a_reload(
    api: Api, browser: Browser
) -> None:
    number, text_hash = await round_open(api, "d-portal-board")
    page = await signed_in(browser, api, "operator")
    await page.get_by_role("link", name="Board of Action Plan on Terrorism").first.click()
    await expect(page).to_have_url(re.compile(r"/portal/board/d-portal-board$"))
    grid = page.locator("#grid")
    await expect(grid).to_contain_text(
        f"0 of {len(MEMBERS)} concurred, 0 objected, {len(MEMBERS)} not answered yet"
    )
    await expect(grid).to_contain_text("reminders not sent")
    await expect(page.locator("#r1-POL")).to_contain_text("Not answered yet")
    loaded = await page.evaluate("performance.timeOrigin")

    answer = {"round": number, "text_hash": text_hash}
    await api.ok("POL", "/decisions/d-portal-board/concurrences", answer)
    await api.ok("DEU", "/decisions/d-portal-board/objections", answer | {"reasons": "Not yet."})
    await expect(page.locator("#r1-POL")).to_contain_text("Concurred", timeout=10_000)
    await expect(page.locator("#r1-DEU")).to_contain_text("Objected Not yet.")
    silent = len(MEMBERS) - 2
    await expect(grid).to_contain_text(
        f"1 of {len(MEMBERS)} concurred, 1 objected, {silent} not answered yet"
    )
    assert await page.evaluate("performance.timeOrigin") == loaded, "the page was not reloaded"
    # The bar draws the same tally: each part as wide as its count (no inline style needed).
    for part, count in (("concurred", 1), ("objected", 1), ("silent", silent)):
        drawn = grid.locator(f"rect.concord-tally__{part}")
        await expect(drawn).to_have_attribute("width", str(count))
        box = await drawn.bounding_box()
        assert box is not None and box["width"] > 0, part
    await page.screenshot(path=str(DOCS / "portal-board.png"), full_page=True)


async def test_a_delegations_session_cannot_reach_the_secretariats_board(
    api: Api, browser: Browser
) -> None:
    await round_open(api, "d-portal-board-403")
    page = await signed_in(browser, api, "GBR")
    response = await page.goto(f"{api.http.base_url}/portal/board/d-portal-board-403")
    assert response is not None and response.status == 403
    await expect(page.get_by_role("heading", name="Not yours to do")).to_be_visible()
    # The page that says so still says who is signed in, and lets them sign out.
    await expect(page.get_by_text("Signed in as GBR (member)")).to_be_visible()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


async def serious_violations(page: Page) -> list[dict[str, object]]:
    """What axe-core finds on the page that is serious or critical (WCAG 2.2 A and AA)."""
    # Evaluated by the driver, not added as a <script>: the pages' policy forbids inline script.
    await page.evaluate(AXE.read_text())
    found: list[dict[str, object]] = await page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")),
            }));
        }""",
        WCAG,
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


PHONE: Final[ViewportSize] = {"width": 390, "height": 844}
"""A phone's viewport, in CSS pixels."""


async def test_every_page_passes_an_axe_core_scan_at_desktop_and_phone_widths(
    api: Api, browser: Browser
) -> None:
    await round_open(api, "d-portal-axe")
    scanned: dict[str, list[dict[str, object]]] = {}

    async def scan(page: Page, name: str) -> None:
        desktop: ViewportSize = {"width": 1280, "height": 900}
        for width, viewport in (("desktop", desktop), ("phone", PHONE)):
            await page.set_viewport_size(viewport)
            scanned[f"{name} ({width})"] = await serious_violations(page)
            if width == "phone":  # nothing is cut off or pushed past the screen's width
                overflow = await page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                assert overflow <= 0, f"{name} is {overflow} px wider than a phone"

    anonymous = await browser.new_page()
    await anonymous.goto(f"{api.http.base_url}/portal/sign-in")
    await scan(anonymous, "sign-in")
    member = await signed_in(browser, api, "CAN")
    await scan(member, "pending")
    await member.goto(f"{api.http.base_url}/portal/decisions/d-portal-axe")
    await scan(member, "decision")
    await member.get_by_role("button", name="Concur", exact=True).click()
    await expect(member.get_by_role("heading", name="Check your concurrence")).to_be_visible()
    await scan(member, "confirmation")
    await member.get_by_role("button", name="Confirm").click()
    await expect(member.get_by_role("cell", name="ConcurrenceRecorded")).to_be_visible()
    await scan(member, "receipt")
    await member.goto(f"{api.http.base_url}/portal/keys")
    await scan(member, "keys")
    await member.goto(f"{api.http.base_url}/portal/board/d-portal-axe")
    await scan(member, "forbidden")
    operator = await signed_in(browser, api, "operator")
    await scan(operator, "decisions")
    await operator.goto(f"{api.http.base_url}/portal/board/d-portal-axe")
    await scan(operator, "board")
    await operator.goto(f"{api.http.base_url}/portal/audit/d-portal-axe")
    await scan(operator, "audit")
    await operator.goto(f"{api.http.base_url}/portal/language/fr?next=/portal/audit/d-portal-axe")
    await scan(operator, "audit in French")
    await operator.goto(f"{api.http.base_url}/portal/language/ru?next=/portal/board/d-portal-axe")
    await scan(operator, "board in Russian")
    assert {name: found for name, found in scanned.items() if found} == {}


async def test_a_french_browser_gets_french_and_the_switch_gives_russian(
    api: Api, browser: Browser
) -> None:
    number, _ = await round_open(api, "d-portal-fr")
    context = await browser.new_context(locale="fr-FR")
    page = await context.new_page()
    await page.goto(f"{api.http.base_url}/portal")
    assert await page.get_attribute("html", "lang") == "fr"
    await page.get_by_label("Jeton d\u2019accès").fill(api.keys["BEL"])
    await page.get_by_role("button", name="Se connecter").click()
    await expect(page.get_by_role("heading", name="Ce à quoi vous devez répondre")).to_be_visible()
    await page.goto(f"{api.http.base_url}/portal/decisions/d-portal-fr")
    await expect(page.get_by_text(f"0 sur {len(MEMBERS)} ont donné leur accord")).to_be_visible()
    await expect(page.get_by_role("heading", name=f"Tour {number} sur la décision")).to_be_visible()
    await page.get_by_label("Motifs").fill("Le paragraphe 2 reste ambigu.")
    await page.get_by_role("button", name="Formuler une objection", exact=True).click()
    await expect(page.get_by_role("heading", name="Vérifiez votre objection")).to_be_visible()
    await page.screenshot(path=str(DOCS / "portal-confirmation-fr.png"), full_page=True)
    await page.get_by_role("button", name="Confirmer").click()
    await expect(page.get_by_role("heading", name="Votre réponse est enregistrée")).to_be_visible()
    # The same objection confirmed again: refused, its particulars worded in French too.
    await page.go_back()
    await page.get_by_role("button", name="Confirmer").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        f"BEL maintient son objection au tour {number}."
    )
    assert "stands objecting" not in await page.get_by_role("alert").inner_text()
    await page.goto(f"{api.http.base_url}/portal/board/d-portal-fr")
    await expect(page.get_by_role("alert")).to_contain_text(
        "le tableau est celui du secrétariat : une délégation voit sa propre page"
    )

    await page.get_by_role("link", name="Русский").click()
    assert await page.get_attribute("html", "lang") == "ru"
    await page.goto(f"{api.http.base_url}/portal/decisions/d-portal-fr")
    await expect(page.get_by_role("button", name="Отозвать возражение")).to_be_visible()
    await expect(page.locator(f"#r{number}-BEL")).to_contain_text("Le paragraphe 2 reste ambigu.")
    # A closed round's outcome is worded in the page's language, not left as its code.
    await api.ok("operator", f"/decisions/d-portal-fr/rounds/{number}/closure", {})
    await page.reload()
    await expect(page.get_by_text("закрыт: не достигнут")).to_be_visible()
    await page.screenshot(path=str(DOCS / "portal-delegation-ru.png"), full_page=True)
    await context.close()


async def test_an_auditor_reads_the_timeline_the_refusals_and_the_state_at_an_instant(
    api: Api, browser: Browser
) -> None:
    number, text_hash = await round_open(api, "d-portal-audit")
    answer = {"round": number, "text_hash": text_hash}
    await api.ok("RUS", "/decisions/d-portal-audit/concurrences", answer)
    refused = await api.post("RUS", "/decisions/d-portal-audit/concurrences", answer)
    assert refused.status_code == 409
    page = await signed_in(browser, api, "auditor")
    await page.get_by_role("link", name="Audit of Action Plan on Terrorism").first.click()
    await expect(page).to_have_url(re.compile(r"/portal/audit/d-portal-audit$"))
    await expect(page.get_by_text("Intact: each of its 5 events")).to_be_visible()
    timeline = page.get_by_role("table").first
    for kind, named in (
        ("ProposalSubmitted", "proposal submitted"),
        ("ConsensusRoundOpened", "round opened"),
        ("ConcurrenceRecorded", "concurrence"),
    ):
        await expect(timeline.locator(f'span[title="{kind}"]')).to_have_text(named)
    refusals = page.get_by_role("table").nth(1)
    await expect(refusals).to_contain_text("member:RUS")
    await page.screenshot(path=str(DOCS / "portal-auditor.png"), full_page=True)

    await page.get_by_role("link", name=re.compile(r"The state as of version 1$")).click()
    await expect(page.get_by_text("State then: proposed")).to_be_visible()
    await page.get_by_role("link", name="Verify the whole log now").click()
    await expect(page.get_by_role("status")).to_contain_text("Intact:")

    member = await signed_in(browser, api, "RUS")
    response = await member.goto(f"{api.http.base_url}/portal/audit/d-portal-audit")
    assert response is not None and response.status == 403


async def adopted_and_planned(api: Api, decision_id: str) -> None:
    """A decision amended once, adopted by every member's concurrence, and planned."""
    await proposed(api, decision_id)
    amended = "The NRC rejects terrorism in all its manifestations.\nIt acts together."
    await api.ok("POL", f"/decisions/{decision_id}/amendments", {"text": amended})
    await api.ok("operator", f"/decisions/{decision_id}/referral", {})
    await api.ok("operator", f"/decisions/{decision_id}/review", {"outcome": "forward"})
    await api.ok(
        "operator", f"/decisions/{decision_id}/rounds", {"deadline": "2099-01-01T00:00:00Z"}
    )
    [opened] = (await api.get("auditor", f"/decisions/{decision_id}"))["rounds"]
    answer = {"round": opened["number"], "text_hash": opened["text_hash"]}
    await asyncio.gather(
        *(api.ok(m, f"/decisions/{decision_id}/concurrences", answer) for m in MEMBERS)
    )
    item = {"item_id": "A1", "description": "Joint assessment", "assignee": {"kind": "all_members"}}
    await api.ok(
        "operator",
        f"/decisions/{decision_id}/implementation-plan",
        {"action_items": [item], "report_back_deadline": "2099-06-01T00:00:00Z"},
    )


async def test_a_delegation_sees_the_changes_reports_progress_raises_an_issue_and_asks_to_meet(
    api: Api, browser: Browser
) -> None:
    await adopted_and_planned(api, "d-portal-plan")
    page = await signed_in(browser, api, "FRA")
    await page.goto(f"{api.http.base_url}/portal/decisions/d-portal-plan")
    changes = page.locator(".concord-diff")
    await expect(changes).to_contain_text("+ added: It acts together.")
    await expect(page.get_by_role("heading", name="Implementation", exact=True)).to_be_visible()
    await expect(page.get_by_role("table").filter(has_text="A1: Joint assessment")).to_be_visible()
    assert await serious_violations(page) == []

    await page.get_by_label("Action item (empty: the plan as a whole)").select_option("A1")
    await page.get_by_label("Progress").fill("The French part is drafted.")
    await answered(page, "Report progress", "Check your progress report")
    await expect(page.get_by_role("cell", name="ProgressReported")).to_be_visible()
    await page.get_by_role("link", name="Back to the decision").click()
    await expect(page.get_by_role("heading", name="Your progress reports")).to_be_visible()
    await expect(page.get_by_text("(A1): The French part is drafted.")).to_be_visible()

    await page.get_by_label("Issue", exact=True).fill("Financing is unclear")
    await page.get_by_label("Description").fill("Who pays for the joint assessment?")
    await answered(page, "Raise the issue", "Check the issue you raise")
    await expect(page.get_by_role("cell", name="ImplementationIssueRaised")).to_be_visible()
    await page.get_by_role("link", name="Back to the decision").click()
    await page.get_by_label("Why the Council should meet").fill("The issue needs ministers.")
    await answered(page, "Request a meeting", "Check your request for a meeting")
    await expect(page.get_by_role("heading", name="Your answer is recorded")).to_be_visible()

    state = await api.get("auditor", "/decisions/d-portal-plan")
    assert [issue["raised_by"] for issue in state["issues"]] == ["FRA"]
    assert [meeting["requested_by"] for meeting in state["meetings"]] == ["FRA"]

    await api.eventually(  # the read model has the request: a sitting now has it on its agenda
        "auditor",
        "/bodies/NRC-AMB/agenda",
        lambda a: any(i["item"] == "extraordinary_request" for i in a["agenda"]),
    )
    sitting = await api.decisions.temporal.execute_workflow(
        MeetingWorkflow.run,
        MeetingInput(body="NRC-AMB", sitting_at=datetime.now(UTC)),
        id="meeting-nrc-amb-portal",
        task_queue=api.decisions.task_queue,
    )
    assert sitting.scheduled >= 2  # the issue, the request (and the report-back when due)
    await page.goto(f"{api.http.base_url}/portal/decisions/d-portal-plan")
    agenda = page.locator("ul.concord-agenda")
    await expect(page.get_by_role("heading", name="On the agenda")).to_be_visible()
    await expect(agenda).to_contain_text("NRC-AMB, sitting of")
    await expect(agenda).to_contain_text("request 1 by FRA: The issue needs ministers.")
    assert await serious_violations(page) == []

    board = await signed_in(browser, api, "operator")
    await board.goto(f"{api.http.base_url}/portal/board/d-portal-plan")
    plan = board.locator("#plan-heading + p")
    await expect(plan).to_contain_text("1 progress report(s)")
    await expect(board.get_by_text("Issue 1, raised by FRA: Financing is unclear")).to_be_visible()


async def test_the_secretariat_gives_the_chairs_commands_from_the_board(
    api: Api, browser: Browser
) -> None:
    await proposed(api, "d-portal-chair")
    page = await signed_in(browser, api, "operator")
    board = f"{api.http.base_url}/portal/board/d-portal-chair"
    await page.goto(board)

    async def done(button: str) -> None:
        await page.get_by_role("button", name=button, exact=True).click()
        await expect(page.get_by_role("heading", name="Recorded")).to_be_visible()
        await page.get_by_role("link", name="Back to the decision").click()
        await expect(page).to_have_url(board)

    async def moment(legend: str, day: str, month: str, year: str, time: str) -> None:
        """A date entered as the page asks for it: day, month, year and UTC time apart."""
        group = page.get_by_role("group", name=legend)
        for label, value in (("Day", day), ("Month", month), ("Year", year), ("Time", time)):
            await group.get_by_label(label).fill(value)

    # Only the actions the decision's state allows are in the way; the others are folded.
    others = page.locator("details", has_text="Other actions")
    await expect(page.get_by_role("button", name="Open a round")).to_be_hidden()
    await done("Refer to the Preparatory Committee")
    await page.get_by_label("Review outcome").select_option("forward")
    await done("Record the review")
    hint = page.get_by_text("Day, month and year, then the time of day, in UTC").first
    await expect(hint).to_be_visible()
    await moment("Round deadline", "1", "1", "2099", "12:00")
    await done("Open a round")
    grid = page.locator("#grid")
    await expect(grid).to_contain_text(f"0 of {len(MEMBERS)} concurred")
    await page.locator("#extend-round").fill("1")
    await moment("New deadline", "1", "2", "2099", "12:00")
    await page.get_by_label("Reason for the extension").fill("Capitals need more time.")
    await done("Extend the deadline")
    await expect(grid).to_contain_text("1 February 2099, 12:00 UTC")
    await page.get_by_label("Reason for suspending").fill("Awaiting the summit.")
    await done("Suspend")
    await expect(page.locator(".govuk-tag").first).to_have_text("suspended")
    await expect(page.get_by_role("button", name="Resume")).to_be_visible()

    # A command the rules refuse says which rule, and is kept as a refusal.
    await others.locator("summary").click()
    await others.get_by_label("Round to close").fill("1")
    await others.get_by_role("button", name="Close the blocked round").click()
    await expect(page.get_by_role("heading", name="Refused by the procedure")).to_be_visible()
    refusals = await api.get("auditor", "/audit/refusals", decision_id="d-portal-chair")
    assert [r["kind"] for r in refusals["refusals"]] == ["close_round"]

    await page.goto(board)
    await done("Resume")
    state = await api.get("auditor", "/decisions/d-portal-chair")
    assert state["status"] == "under_consensus"
    assert state["rounds"][0]["deadline"].startswith("2099-02-01T12:00")


async def test_the_portal_works_from_the_keyboard_alone(api: Api, browser: Browser) -> None:
    await round_open(api, "d-portal-keys")
    page = await browser.new_page()
    await page.goto(f"{api.http.base_url}/portal/sign-in")

    await tabbed_to(page, page.locator("#token"))
    await page.keyboard.type(api.keys["NLD"])
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/portal$"))
    await tabbed_to(page, page.locator("a[href='/portal/decisions/d-portal-keys']").first)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/portal/decisions/d-portal-keys$"))
    await tabbed_to(page, page.locator("form[action$='/concur/check'] button"))
    await page.keyboard.press("Enter")
    await tabbed_to(page, page.locator("form[action$='/concur'] button"))
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("cell", name="ConcurrenceRecorded")).to_be_visible()


async def test_a_delegation_cannot_answer_in_another_members_name(
    api: Api, browser: Browser
) -> None:
    number, text_hash = await round_open(api, "d-portal-impostor")
    page = await signed_in(browser, api, "ESP")
    await page.goto(f"{api.http.base_url}/portal/decisions/d-portal-impostor")
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
    assert csrf
    sent = await page.request.post(
        f"{api.http.base_url}/portal/decisions/d-portal-impostor/concur",
        form={
            "csrf": csrf,
            "round": str(number),
            "text_hash": text_hash,
            "actor": "GBR",
            "recorded_by": "member:GBR",
        },
    )
    assert sent.status == 201
    state = await api.get("auditor", "/decisions/d-portal-impostor")
    assert state["rounds"][0]["concurred"] == ["ESP"]
    # Its confirmation page, asked with another's name and a round that does not exist, shows
    # its own name and no round, and records nothing.
    checked = await page.request.post(
        f"{api.http.base_url}/portal/decisions/d-portal-impostor/object/check",
        form={"csrf": csrf, "round": "99", "text_hash": text_hash, "reasons": "No.",
              "actor": "GBR"},
    )  # fmt: skip
    assert checked.status == 200
    shown = await checked.text()
    assert "In the name of</dt>" in shown and ">ESP</dd>" in shown and "GBR" not in shown
    assert "Round 99" not in shown
    events = (await api.get("auditor", "/decisions/d-portal-impostor/events"))["events"]
    assert [e["type"] for e in events if e["actor"] == "ESP"] == ["ConcurrenceRecorded"]


async def test_the_home_page_shows_each_open_rounds_deadline(api: Api, browser: Browser) -> None:
    await round_open(api, "d-portal-deadline")
    page = await signed_in(browser, api, "operator")
    row = page.get_by_role("row").filter(has_text="Action Plan on Terrorism")
    await expect(row).to_contain_text("1 January 2099, 00:00 UTC")
    await expect(row.locator("time")).to_have_attribute("datetime", "2099-01-01T00:00:00+00:00")
