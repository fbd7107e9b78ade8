"""A delegation's signed answers through the HTTP API, on the real stack: the delegation's own
client builds the statement from its documented form and signs it with PyNaCl (nothing of
Concord's); the API checks the signature against the key registry before it gives the answer
to its decision, and refuses one that is not the member's, recording nothing in the log."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import nacl.signing
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.keys import KeyBook, KeyRequest
from audit.signing import MemberKey
from tests.e2e.conftest import Api, round_open

pytestmark = pytest.mark.e2e

ORIGIN = "nrc.example/concord"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Delegation:
    """A member's client: its key, and the statements it signs, as docs/auditing.md says."""

    def __init__(self, member: str) -> None:
        self.member = member
        self.key = nacl.signing.SigningKey.generate()
        public = bytes(self.key.verify_key)
        digest = hashlib.sha256(b"concord-key\n" + public).hexdigest()
        self.key_id = "ed25519:" + digest[:16]

    def as_member_key(self) -> MemberKey:
        return MemberKey(self.member, Ed25519PrivateKey.from_private_bytes(bytes(self.key)))

    def signature(
        self, decision_id: str, kind: str, fields: dict[str, Any], command_key: str, **over: Any
    ) -> dict[str, str]:
        claimed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        statement = {
            "statement": "concord-answer/v1",
            "origin": ORIGIN,
            "decision_id": decision_id,
            "kind": kind,
            "member": self.member,
            "fields": fields,
            "key_id": self.key_id,
            "command_key": command_key,
            "claimed_at": claimed_at,
        } | over
        signed = json.dumps(statement, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return {
            "key_id": self.key_id,
            "claimed_at": claimed_at,
            "command_key": command_key,
            "signature": b64(self.key.sign(signed.encode()).signature),
        }


async def test_a_signed_concurrence_is_checked_then_recorded_with_its_signature(api: Api) -> None:
    decision = "d-api-signed"
    number, text_hash = await round_open(api, decision)
    rus = Delegation("RUS")
    await KeyBook(api.store, ORIGIN).register(
        KeyRequest.made(ORIGIN, rus.as_member_key()), "operator:secretariat"
    )
    fields = {"round": number, "text_hash": text_hash}
    path = f"/decisions/{decision}/concurrences"

    before = await api.log_size()
    refusals = (await api.get("auditor", "/audit/refusals"))["refusals"]
    for forged, says in [
        (rus.signature(decision, "concur", fields | {"text_hash": "sha256:" + "1" * 64}, "k1"),
         "the signature is not"),
        (rus.signature(decision, "concur", fields, "k1", origin="other.example/log"),
         "the signature is not"),
        (rus.signature("d-elsewhere", "concur", fields, "k1"), "the signature is not"),
        (rus.signature(decision, "concur", fields | {"round": number + 1}, "k1"),
         "the signature is not"),
        (Delegation("RUS").signature(decision, "concur", fields, "k1"), "is no registered key"),
    ]:  # fmt: skip
        response = await api.post("RUS", path, fields | {"signature": forged}, key="k1")
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert (error["code"], says in error["message"]) == ("bad_signature", True), error
    assert await api.log_size() == before, "nothing recorded in the event log"
    kept = (await api.get("auditor", "/audit/refusals"))["refusals"]
    assert [r["code"] for r in kept[len(refusals) :]] == ["bad_signature"] * 5

    command_key = uuid.uuid4().hex
    signature = rus.signature(decision, "concur", fields, command_key)
    another_key = await api.post("RUS", path, fields | {"signature": signature}, key="other")
    assert another_key.status_code == 422 and "idempotency_key" in another_key.text

    receipt = await api.ok("RUS", path, fields | {"signature": signature})
    again = await api.post("RUS", path, fields | {"signature": signature}, key=command_key)
    assert again.status_code == 201 and again.json()["event_ids"] == receipt["event_ids"]

    events = (await api.get("auditor", f"/decisions/{decision}/events"))["events"]
    [recorded] = [e for e in events if e["type"] == "ConcurrenceRecorded"]
    assert recorded["payload"]["signature"] == signature
    verified = await api.get("auditor", "/audit/verify")
    assert verified["answers_break"] is None
    assert (verified["answers_signed"], verified["answers_unsigned"]) == (1, 0)

    # What the secretariat records in a delegation's name is shown as such, to the delegation.
    await api.ok("operator", path, fields | {"actor": "NOR"})
    listed = (await api.get("NOR", f"/decisions/{decision}/answers"))["answers"]
    assert [(a["member"], a["status"], a["recorded_by"], a["key_id"]) for a in listed] == [
        ("RUS", "signed", "member:RUS", rus.key_id),
        ("NOR", "unsigned", "operator:secretariat", None),
    ]


async def test_an_answer_signed_by_a_revoked_key_is_refused_and_records_nothing(api: Api) -> None:
    decision = "d-api-revoked"
    number, text_hash = await round_open(api, decision)
    gbr = Delegation("GBR")
    book = KeyBook(api.store, ORIGIN)
    await book.register(KeyRequest.made(ORIGIN, gbr.as_member_key()), "operator:secretariat")
    await book.revoke("GBR", "operator:secretariat", reason="Device lost")
    fields = {"round": number, "text_hash": text_hash}
    before = await api.log_size()
    signature = gbr.signature(decision, "concur", fields, "k-revoked")
    response = await api.post(
        "GBR", f"/decisions/{decision}/concurrences", fields | {"signature": signature}
    )
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "bad_signature" and "was revoked before" in error["message"]
    assert await api.log_size() == before


async def test_a_delegation_registers_its_own_key_and_no_one_elses(api: Api) -> None:
    key = MemberKey.generate("DEU")
    request = KeyRequest.made(ORIGIN, key).document()
    assert (await api.post("POL", "/keys", request)).status_code == 403
    assert (await api.post("auditor", "/keys", request)).status_code == 403
    forged = request | {"possession": MemberKey.generate("DEU").sign(b"register")}
    refused = await api.post("DEU", "/keys", forged)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "bad_signature"

    registered = await api.post("DEU", "/keys", request)
    assert registered.status_code == 201, registered.text
    shown = registered.json()
    assert (shown["key_id"], shown["authority"], shown["flagged"]) == (key.key_id, "chair", True)
    rotated = KeyRequest.made(ORIGIN, MemberKey.generate("DEU"), key).document()
    by_secretariat = await api.post("operator", "/keys", rotated)
    assert by_secretariat.status_code == 201 and by_secretariat.json()["authority"] == "member"
    listed = (await api.get("RUS", "/keys"))["keys"]
    assert [(k["member"], k["ended"]) for k in listed] == [("DEU", "rotated"), ("DEU", None)]
