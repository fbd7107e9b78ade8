"""A delegation's answers signed in its browser (Playwright driving Debian's Chromium, WebCrypto's
Ed25519) against the real stack: the browser makes a non-extractable key and registers it, signs
each answer over exactly what is recorded, and each signature verifies with PyNaCl in this test,
from the event and the key registry alone."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.signing
import pytest
from playwright.async_api import Browser, expect

from audit.keys import KeyBook, KeyRequest
from audit.signing import MemberKey
from domain.council_events import KeyAuthority
from tests.e2e.conftest import Api, round_open
from tests.e2e.test_portal import browser, signed_in

__all__ = ["browser"]

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ORIGIN = "nrc.example/concord"
KINDS = {
    "SilenceBroken": ("break_silence", ("round", "text_hash", "reasons")),
    "ObjectionWithdrawn": ("withdraw_objection", ("round",)),
    "ConcurrenceRecorded": ("concur", ("round", "text_hash")),
}


SLOW_KEY_STORE = """
(() => {
  if (!location.pathname.startsWith("/portal/decisions/")) return;
  const open = IDBFactory.prototype.open;
  IDBFactory.prototype.open = function (...args) {
    const request = open.apply(this, args);
    let handler = null;
    Object.defineProperty(request, "onsuccess", {
      set(f) { handler = f; },
      get() { return handler; },
    });
    request.addEventListener("success", (event) => {
      setTimeout(() => handler && handler.call(request, event), 1500);
    });
    return request;
  };
})();
"""
"""On a decision's pages, every IndexedDB database opened answers 1.5 s after it has opened."""


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed_by(public_key: str, event: dict[str, Any]) -> bool:
    """The event's signature checked with PyNaCl over its statement, as docs/auditing.md
    describes it (the statement's canonical JSON: keys sorted, no whitespace)."""
    kind, names = KINDS[event["type"]]
    signature = event["payload"]["signature"]
    statement = {
        "statement": "concord-answer/v1",
        "origin": ORIGIN,
        "decision_id": event["decision_id"],
        "kind": kind,
        "member": event["actor"],
        "fields": {n: event["payload"][n] for n in names},
        "key_id": signature["key_id"],
        "command_key": signature["command_key"],
        "claimed_at": signature["claimed_at"],
    }
    signed = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        nacl.signing.VerifyKey(unb64(public_key)).verify(
            signed.encode(), unb64(signature["signature"])
        )
    except nacl.exceptions.BadSignatureError:
        return False
    return True


async def test_a_delegation_signs_its_answers_with_a_key_its_browser_made(
    api: Api, browser: Browser
) -> None:
    decision = "d-portal-signed"
    await round_open(api, decision)
    page = await signed_in(browser, api, "NOR")
    await page.goto(f"{api.http.base_url}/portal/keys")
    await expect(page.get_by_text("None: your answers are recorded unsigned")).to_be_visible()
    await page.get_by_role("button", name="Make a signing key in this browser").click()
    await expect(page.get_by_role("status")).to_contain_text("is recorded in the council's key")
    book = KeyBook(api.store, ORIGIN)
    first = (await book.registry()).current("NOR")
    assert first is not None and first.authority is KeyAuthority.CHAIR  # a first key
    await expect(page.get_by_text("This browser holds the key in force.")).to_be_visible()
    # The private key cannot be read out of the browser, even by the page's own script.
    exported = await page.evaluate(
        """async () => {
            const db = await new Promise((ok) => {
                const open = indexedDB.open("concord-keys", 1);
                open.onsuccess = () => ok(open.result);
            });
            const pairs = await new Promise((ok) => {
                const all = db.transaction("keys").objectStore("keys").getAll();
                all.onsuccess = () => ok(all.result);
            });
            try {
                await crypto.subtle.exportKey("pkcs8", pairs[0].privateKey);
                return "exported";
            } catch (refused) {
                return refused.name;
            }
        }"""
    )
    assert exported == "InvalidAccessError"

    await page.goto(f"{api.http.base_url}/portal/decisions/{decision}")
    await page.get_by_label("Reasons").fill("Paragraph 3 needs another reading.\nAnd 4.")
    await page.get_by_role("button", name="Object", exact=True).click()
    # The confirmation page says the answer is signed, and with which key, before it is.
    await expect(page.locator("#signing-state")).to_contain_text(
        f"Signed when you confirm, with your key {first.key_id}"
    )
    said = page.get_by_role("definition").filter(has_text="Paragraph 3 needs another reading.")
    await expect(said).to_be_visible()
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("cell", name="SilenceBroken")).to_be_visible()
    await page.get_by_role("link", name="Back to the decision").click()
    await page.get_by_role("button", name="Withdraw objection").click()
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("cell", name="ObjectionWithdrawn")).to_be_visible()

    # A key made again in the same browser is endorsed by the one it holds: the member's own.
    await page.goto(f"{api.http.base_url}/portal/keys")
    await page.get_by_role("button", name="Make a signing key in this browser").click()
    await expect(page.get_by_role("status")).to_contain_text("is recorded in the council's key")
    second = (await book.registry()).current("NOR")
    assert second is not None and second.key_id != first.key_id
    assert second.authority is KeyAuthority.MEMBER
    # From here the browser's key store answers 1.5 s late on a decision's pages, and the answer
    # is confirmed at once: it must still be signed, the confirmation held until the browser
    # knows it holds the key (before, a quick click sent it unsigned).
    await page.add_init_script(SLOW_KEY_STORE)
    await page.goto(f"{api.http.base_url}/portal/decisions/{decision}")
    await page.get_by_role("button", name="Concur", exact=True).click()
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("cell", name="ConcurrenceRecorded")).to_be_visible()

    events = (await api.get("auditor", f"/decisions/{decision}/events"))["events"]
    answers = [e for e in events if e["actor"] == "NOR"]
    assert [e["type"] for e in answers] == list(KINDS)
    keys = [first.public_key, first.public_key, second.public_key]
    assert all(signed_by(key, event) for key, event in zip(keys, answers, strict=True))
    assert answers[0]["payload"]["reasons"] == "Paragraph 3 needs another reading.\r\nAnd 4."
    verified = await api.get("auditor", "/audit/verify")
    assert verified["answers_break"] is None and verified["answers_signed"] == 3


async def test_a_key_file_made_on_the_command_line_signs_in_the_browser_without_leaving_it(
    api: Api, browser: Browser, tmp_path: Path
) -> None:
    decision = "d-portal-key-file"
    await round_open(api, decision)
    key = MemberKey.generate("ESP")
    key.save(tmp_path / "esp.key")
    await KeyBook(api.store, ORIGIN).register(KeyRequest.made(ORIGIN, key), "operator:secretariat")
    page = await signed_in(browser, api, "ESP")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.post_data or ""))
    await page.goto(f"{api.http.base_url}/portal/keys")
    await page.get_by_label("Or use a key file").set_input_files(str(tmp_path / "esp.key"))
    await expect(page.get_by_text("This browser holds the key in force.")).to_be_visible()
    seed = json.loads((tmp_path / "esp.key").read_text())["private_key"]
    assert not any(seed in body for body in sent), "the key file never leaves the browser"

    await page.goto(f"{api.http.base_url}/portal/decisions/{decision}")
    await page.get_by_role("button", name="Concur", exact=True).click()
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_role("cell", name="ConcurrenceRecorded")).to_be_visible()
    events = (await api.get("auditor", f"/decisions/{decision}/events"))["events"]
    [concurred] = [e for e in events if e["actor"] == "ESP"]
    assert concurred["payload"]["signature"]["key_id"] == key.key_id
    assert signed_by(key.public_key, concurred)


async def test_a_delegation_sees_the_answer_the_secretariat_recorded_in_its_name(
    api: Api, browser: Browser
) -> None:
    decision = "d-portal-behalf"
    number, text_hash = await round_open(api, decision)
    fields = {"round": number, "text_hash": text_hash}
    await api.ok("operator", f"/decisions/{decision}/concurrences", fields | {"actor": "LTU"})
    page = await signed_in(browser, api, "LTU")
    await page.goto(f"{api.http.base_url}/portal/decisions/{decision}")
    mine = page.locator(".govuk-summary-list__row", has_text="Your answer")
    await expect(mine).to_contain_text("concurred")
    await expect(mine).to_contain_text("(recorded in LTU's name by operator:secretariat on ")
    await expect(mine).to_contain_text(", unsigned)")
