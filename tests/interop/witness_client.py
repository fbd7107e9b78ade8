"""A client of the C2SP tlog-witness protocol written from the specifications alone (tlog-witness,
tlog-cosignature, signed-note), importing nothing of Concord's: the standard library and PyNaCl.

    python witness_client.py <witness URL> <witness key> <checkpoint file> <old size> [<proof>]

`<proof>` is a file of base64 consistency proof hashes, one per line. Prints `cosigned <name>
<time>` once the witness's cosignature verifies with its key (exit 0); `conflict <size>` for a
409 naming the size the witness last cosigned, `refused <status> <reason>` for any other status
(exit 1).
"""

from __future__ import annotations

import base64
import hashlib
import sys
import urllib.error
import urllib.request

import nacl.exceptions
import nacl.signing


def cosignature_time(witness_key: str, checkpoint_text: str, lines: str) -> tuple[str, int]:
    """(witness name, time) of the witness's valid cosignature among `lines`; ValueError if none."""
    name, key_hash, encoded = witness_key.strip().split("+", 2)
    raw = base64.b64decode(encoded)
    if raw[:1] != b"\x04" or len(raw) != 33:
        raise ValueError("not a cosignature/v1 Ed25519 key")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != key_hash:
        raise ValueError("the key's id does not match its name and key")
    verify_key = nacl.signing.VerifyKey(raw[1:])
    for line in lines.splitlines():
        if not line.startswith("\u2014 "):
            raise ValueError(f"not a signature line: {line!r}")
        signer, blob = line[2:].rsplit(" ", 1)
        signature = base64.b64decode(blob)
        if signer != name or signature[:4] != key_id or len(signature) != 4 + 8 + 64:
            continue
        timestamp = int.from_bytes(signature[4:12], "big")
        message = f"cosignature/v1\ntime {timestamp}\n{checkpoint_text}".encode()
        try:
            verify_key.verify(message, signature[12:])
        except nacl.exceptions.BadSignatureError:
            continue
        return name, timestamp
    raise ValueError("no valid cosignature of the witness's key")


def main() -> int:
    if len(sys.argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        return 2
    url, witness_key, checkpoint_file, old = sys.argv[1:5]
    with open(checkpoint_file, encoding="utf-8") as file:
        checkpoint = file.read()
    proof: list[str] = []
    if len(sys.argv) == 6:
        with open(sys.argv[5], encoding="utf-8") as file:
            proof = [line.strip() for line in file if line.strip()]
    body = f"old {int(old)}\n" + "".join(f"{h}\n" for h in proof) + "\n" + checkpoint
    request = urllib.request.Request(
        url.rstrip("/") + "/add-checkpoint", data=body.encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            lines = answer.read().decode()
    except urllib.error.HTTPError as error:
        reason = error.read().decode().strip()
        if error.code == 409 and error.headers.get("Content-Type", "").startswith(
            "text/x.tlog.size"
        ):
            print(f"conflict {int(reason)}")
        else:
            print(f"refused {error.code} {reason}")
        return 1
    text = checkpoint.split("\n\n", 1)[0] + "\n"
    name, timestamp = cosignature_time(witness_key, text, lines)
    print(f"cosigned {name} {timestamp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
