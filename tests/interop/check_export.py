"""Check a Concord decision export from its files and the log's public key alone, importing
nothing of Concord's: hashlib, an RFC 8785 library (rfc8785) and an Ed25519 library (PyNaCl),
written from the specifications (RFC 8785, RFC 9162 section 2.1, C2SP signed-note and
tlog-checkpoint) and from docs/auditing.md (members' keys and signed answers).

    python check_export.py <verifier key> <events.jsonl> <evidence.json>

Exit 0 when every exported event's fields hash to its hash, the events are the decision's whole
stream, each linked to the one before, and each is in the tree of the checkpoint the key signed;
so is the key registry's stream the evidence carries, each of its keys proved by its holder
(and a rotation by the key before it); and every signed answer is signed by its member's key in
force when it was recorded, over the answer as recorded. Exit 1 naming the first thing that
does not hold.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from datetime import datetime, timedelta
from typing import Any

import nacl.exceptions
import nacl.signing
import rfc8785

HASHED = (
    "position",
    "event_id",
    "decision_id",
    "stream_version",
    "type",
    "schema_version",
    "actor",
    "recorded_by",
    "occurred_at",
    "recorded_at",
    "stream_prev_hash",
    "payload",
)


class Failed(Exception):
    pass


def open_note(signed: str, vkey: str) -> str:
    """The text of a signed note once the key's Ed25519 signature on it checks."""
    name, key_hash, encoded = vkey.strip().split("+", 2)
    raw = base64.b64decode(encoded)
    if raw[:1] != b"\x01" or len(raw) != 33:
        raise Failed("the verifier key is not an Ed25519 note key")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != key_hash:
        raise Failed("the verifier key's id does not match its name and key")
    text, separator, signatures = signed.partition("\n\n")
    if not separator:
        raise Failed("the checkpoint is not a signed note")
    text += "\n"
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            raise Failed("a signature line does not start with an em dash")
        signer, blob = line[2:].rsplit(" ", 1)
        signature = base64.b64decode(blob)
        if signer == name and signature[:4] == key_id:
            try:
                nacl.signing.VerifyKey(raw[1:]).verify(text.encode(), signature[4:])
            except nacl.exceptions.BadSignatureError:
                raise Failed("the checkpoint's signature does not verify") from None
            return text
    raise Failed(f"the checkpoint holds no signature by {name}")


def leaf(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from(index: int, size: int, leaf_hash: bytes, path: list[bytes]) -> bytes:
    """RFC 9162 section 2.1.3.2: the root an inclusion path leads to."""
    if index >= size:
        raise Failed(f"leaf {index} is not in a tree of {size}")
    fn, sn, hashed = index, size - 1, leaf_hash
    for sibling in path:
        if sn == 0:
            raise Failed("the inclusion path is too long")
        if fn & 1 or fn == sn:
            hashed = node(sibling, hashed)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            hashed = node(hashed, sibling)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Failed("the inclusion path is too short")
    return hashed


def check(vkey: str, events: list[dict[str, Any]], evidence: dict[str, Any]) -> str:
    text = open_note(evidence["checkpoint"], vkey)
    origin, size_text, root_text = text.split("\n")[:3]
    size, root = int(size_text), base64.b64decode(root_text)
    proofs = {p["position"]: p for p in evidence["proofs"]}

    def proved_stream(documents: list[dict[str, Any]], stream: str) -> None:
        previous = "0" * 64
        for version, event in enumerate(documents, 1):
            position = event["position"]
            entry = rfc8785.dumps({field: event[field] for field in HASHED})
            chained = hashlib.sha256(bytes.fromhex(event["prev_hash"]) + entry).hexdigest()
            if chained != event["hash"]:
                raise Failed(f"position {position}: its fields do not hash to its hash")
            if event["decision_id"] != stream:
                raise Failed(f"position {position} is of another stream than {stream}")
            if event["stream_version"] != version or event["stream_prev_hash"] != previous:
                raise Failed(f"position {position} is not the stream's event {version}")
            proof = proofs.get(position)
            if proof is None or proof["index"] != position - 1:
                raise Failed(f"no inclusion proof of position {position}")
            path = [base64.b64decode(h) for h in proof["proof"]]
            if root_from(position - 1, size, leaf(entry), path) != root:
                raise Failed(f"position {position} is not in the signed tree of {size}")
            previous = event["hash"]

    proved_stream(events, evidence["decision_id"])
    changes = evidence.get("key_registry", [])
    proved_stream(changes, "council.keys")
    keys = registry(origin, changes)
    signed = [e for e in events if e["type"] in SIGNED and "signature" in e["payload"]]
    for event in signed:
        answer_signed_by_its_member(origin, event, keys)
    return (
        f"{len(events)} events in {origin}'s tree of {size}; {len(signed)} signed answers "
        f"verified against {len(changes)} key changes"
    )


# Members' keys and signed answers, as docs/auditing.md describes them.

SIGNED = {
    "ConcurrenceRecorded": ("concur", ("round", "text_hash")),
    "SilenceBroken": ("break_silence", ("round", "text_hash", "reasons")),
    "ObjectionWithdrawn": ("withdraw_objection", ("round",)),
    "ConcernRegistered": ("register_concern", ("round", "statement")),
    "ProgressReported": ("report_progress", ("item_id", "summary")),
    "ImplementationIssueRaised": ("raise_issue", ("title", "description")),
    "ExtraordinaryMeetingRequested": ("request_meeting", ("level", "reason")),
}
"""Each signed answer's event type: the command's kind, and the fields its statement holds."""


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed_by(public_key: str, message: bytes, signature: str) -> bool:
    try:
        nacl.signing.VerifyKey(unb64url(public_key)).verify(message, unb64url(signature))
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False
    return True


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def registry(origin: str, changes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each key by its id: its member, public key, and when it was in force (since, until)."""
    keys: dict[str, dict[str, Any]] = {}
    current: dict[str, str] = {}
    for change in changes:
        payload, at = change["payload"], instant(change["occurred_at"])
        member = payload["member"]
        statement = rfc8785.dumps(
            {
                "statement": "concord-key/v1",
                "origin": origin,
                "member": member,
                "change": "register" if change["type"] == "MemberKeyRegistered" else "revoke",
                "key_id": payload["key_id"],
                "public_key": payload["public_key"],
            }
        )
        in_force = keys.get(current.get(member, ""))
        if change["type"] == "MemberKeyRevoked":
            if in_force is None or in_force["key_id"] != payload["key_id"]:
                raise Failed(f"position {change['position']} revokes a key not in force")
            in_force["until"] = at
            del current[member]
            continue
        raw = unb64url(payload["public_key"])
        derived = "ed25519:" + hashlib.sha256(b"concord-key\n" + raw).hexdigest()[:16]
        if derived != payload["key_id"] or payload["key_id"] in keys:
            raise Failed(f"position {change['position']}: not a new key's id")
        if not signed_by(payload["public_key"], statement, payload["possession"]):
            raise Failed(f"position {change['position']}: the key's holder did not sign it")
        if payload["authority"] == "member" and not (
            in_force is not None
            and signed_by(in_force["public_key"], statement, payload.get("endorsement") or "")
        ):
            raise Failed(f"position {change['position']}: not endorsed by the key in force")
        if in_force is not None:
            in_force["until"] = at
        keys[payload["key_id"]] = {
            "member": member,
            "key_id": payload["key_id"],
            "public_key": payload["public_key"],
            "since": at,
            "until": None,
        }
        current[member] = payload["key_id"]
    return keys


def answer_signed_by_its_member(
    origin: str, event: dict[str, Any], keys: dict[str, dict[str, Any]]
) -> None:
    """The answer's signature is its member's key's, in force when the answer was recorded,
    over the statement rebuilt from the event; Failed naming the position otherwise."""
    kind, names = SIGNED[event["type"]]
    signature, position = event["payload"]["signature"], event["position"]
    key = keys.get(signature["key_id"])
    recorded = instant(event["occurred_at"])
    if key is None or key["member"] != event["actor"]:
        raise Failed(f"position {position}: not signed by a key of {event['actor']}")
    if recorded < key["since"] or (key["until"] is not None and recorded >= key["until"]):
        raise Failed(f"position {position}: the key was not in force when it was recorded")
    claimed = instant(signature["claimed_at"])
    if not recorded - timedelta(days=1) <= claimed <= recorded + timedelta(minutes=5):
        raise Failed(f"position {position}: claimed at {signature['claimed_at']}")
    payload = event["payload"]
    statement = {
        "statement": "concord-answer/v1",
        "origin": origin,
        "decision_id": event["decision_id"],
        "kind": kind,
        "member": event["actor"],
        "fields": {n: payload[n] for n in names if payload.get(n) is not None},
        "key_id": signature["key_id"],
        "command_key": signature["command_key"],
        "claimed_at": signature["claimed_at"],
    }
    if not signed_by(key["public_key"], rfc8785.dumps(statement), signature["signature"]):
        raise Failed(f"position {position}: the signature is not {event['actor']}'s over it")


def main() -> int:
    if len(sys.argv) != 4:
        print("usage: check_export.py <verifier key> <events.jsonl> <evidence.json>")
        return 2
    vkey, events_file, evidence_file = sys.argv[1:]
    with open(events_file, encoding="utf-8") as lines:
        events = [json.loads(line) for line in lines if line.strip()]
    with open(evidence_file, encoding="utf-8") as file:
        evidence = json.load(file)
    try:
        print("ok:", check(vkey, events, evidence))
    except Failed as failed:
        print(f"FAILED: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
