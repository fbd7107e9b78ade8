"""Check a Concord decision export from its files and the log's public key alone, importing
nothing of Concord's: hashlib, an RFC 8785 library (rfc8785) and an Ed25519 library (PyNaCl),
written from the specifications (RFC 8785, RFC 9162 section 2.1, C2SP signed-note and
tlog-checkpoint).

    python check_export.py <verifier key> <events.jsonl> <evidence.json>

Exit 0 when every exported event's fields hash to its hash, the events are the decision's whole
stream, each linked to the one before, and each is in the tree of the checkpoint the key signed;
exit 1 naming the first thing that does not hold.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
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
    previous = "0" * 64
    for version, event in enumerate(events, 1):
        position = event["position"]
        entry = rfc8785.dumps({field: event[field] for field in HASHED})
        if hashlib.sha256(bytes.fromhex(event["prev_hash"]) + entry).hexdigest() != event["hash"]:
            raise Failed(f"position {position}: its fields do not hash to its hash")
        if event["decision_id"] != evidence["decision_id"]:
            raise Failed(f"position {position} is of another decision")
        if event["stream_version"] != version or event["stream_prev_hash"] != previous:
            raise Failed(f"position {position} is not the stream's event {version}")
        proof = proofs.get(position)
        if proof is None or proof["index"] != position - 1:
            raise Failed(f"no inclusion proof of position {position}")
        path = [base64.b64decode(h) for h in proof["proof"]]
        if root_from(position - 1, size, leaf(entry), path) != root:
            raise Failed(f"position {position} is not in the signed tree of {size}")
        previous = event["hash"]
    return f"{len(events)} events in {origin}'s tree of {size}"


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
