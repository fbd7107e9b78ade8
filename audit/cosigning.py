"""A log's witnesses: the policy naming them (each witness's cosigner key, where it listens,
and how many must cosign), the log's side of C2SP tlog-witness (submitting each new checkpoint
with a consistency proof from the size each witness last cosigned), and the verifier's side
(a checkpoint holds only with cosignatures from a quorum of the policy's witnesses).

A policy file, one statement per line (`#` starts a comment):

    witness <cosigner key> [<URL of its submission prefix>]
    quorum <k>

An auditor's policy needs no URLs; the log's needs one per witness it submits to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from audit import note
from audit.checkpoint import Checkpoint, open_checkpoint
from audit.witness import CosignerKey, Submission, WitnessRefusal
from domain.errors import AuditFailed, InvalidInput

if TYPE_CHECKING:  # an auditor checks a policy's cosignatures with neither HTTP nor the store
    import httpx

    from audit.tree import StoredTree
    from store.checkpoints import Cosignature
    from store.eventstore import EventStore

SUBMIT_TIMEOUT: Final = 10.0
"""Seconds a witness has to answer one add-checkpoint request."""


@dataclass(frozen=True)
class Witnessed:
    key: CosignerKey
    url: str | None


@dataclass(frozen=True)
class WitnessPolicy:
    witnesses: tuple[Witnessed, ...]
    quorum: int

    @classmethod
    def parse(cls, text: str, field: str = "policy") -> WitnessPolicy:
        """The policy a file holds; InvalidInput naming `field` and the line otherwise."""
        witnesses: list[Witnessed] = []
        quorum: int | None = None
        for number, raw in enumerate(text.splitlines(), 1):
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            where = f"{field} line {number}"
            if words[0] == "witness" and len(words) in (2, 3):
                key = CosignerKey.parse(words[1])
                url = words[2] if len(words) == 3 else None
                if url is not None and not url.startswith(("http://", "https://")):
                    raise InvalidInput(where, f"a witness's URL is http(s)://..., not {url!r}")
                if any(w.key.id == key.id and w.key.name == key.name for w in witnesses):
                    raise InvalidInput(where, f"the witness {key.name} is named twice")
                witnesses.append(Witnessed(key, url.rstrip("/") if url else None))
            elif words[0] == "quorum" and len(words) == 2 and words[1].isdigit():
                if quorum is not None:
                    raise InvalidInput(where, "one quorum line")
                quorum = int(words[1])
            else:
                raise InvalidInput(where, "`witness <key> [<url>]` or `quorum <k>`")
        if not witnesses:
            raise InvalidInput(field, "a policy names at least one witness")
        if quorum is None or not 1 <= quorum <= len(witnesses):
            raise InvalidInput(field, f"`quorum <k>` with k from 1 to {len(witnesses)}")
        return cls(tuple(witnesses), quorum)

    def cosigned(self, signed: str) -> dict[str, int]:
        """The policy's witnesses whose valid cosignature `signed` carries, by name, with the
        time each says it cosigned at (seconds since the epoch)."""
        text, signatures = note.split(signed)
        times: dict[str, int] = {}
        for witnessed in self.witnesses:
            for signature in signatures:
                timestamp = witnessed.key.timestamp_of(text, signature)
                if timestamp is not None:
                    times[witnessed.key.name] = timestamp
        return times

    def check(self, signed: str, verifier: note.Verifier) -> tuple[Checkpoint, dict[str, int]]:
        """The checkpoint, once the log's signature and a quorum of cosignatures check;
        AuditFailed naming how many valid cosignatures it has and how many it needs."""
        checkpoint = open_checkpoint(signed, verifier)
        times = self.cosigned(signed)
        if len(times) < self.quorum:
            raise AuditFailed(
                f"the checkpoint of {checkpoint.size} carries {len(times)} valid cosignature(s) "
                f"of the policy's witnesses; the policy needs {self.quorum}"
            )
        return checkpoint, times


def witness_id(key: CosignerKey) -> str:
    return f"{key.name}+{key.id.hex()}"


async def submit(http: httpx.AsyncClient, url: str, submission: Submission) -> str:
    """The witness's answer to add-checkpoint: its signature lines; WitnessRefusal with its
    status (and, for a 409 that names it, the size it last cosigned) otherwise."""
    import httpx

    try:
        answer = await http.post(
            f"{url}/add-checkpoint", content=submission.body(), timeout=SUBMIT_TIMEOUT
        )
    except httpx.HTTPError as error:
        raise WitnessRefusal(503, f"unreachable: {type(error).__name__}") from None
    if answer.status_code == 200:
        return answer.text
    size = None
    if answer.status_code == 409 and answer.headers.get("content-type", "").startswith(
        "text/x.tlog.size"
    ):
        text = answer.text.strip()
        size = int(text) if text.isdigit() else None
    raise WitnessRefusal(answer.status_code, answer.text.strip()[:200] or "no reason", size)


@dataclass(frozen=True)
class Gathered:
    cosignatures: list[Cosignature]
    refusals: dict[str, str]
    """Witnesses that did not cosign, by name, with what they said."""
    forks: list[str]
    """Witnesses that hold a view this checkpoint does not extend (a larger tree, another
    root): what only a rewritten log or a split view explains."""


async def gather(
    store: EventStore,
    tree: StoredTree,
    policy: WitnessPolicy,
    signed: str,
    checkpoint: Checkpoint,
    http: httpx.AsyncClient,
) -> Gathered:
    """Submit the kept checkpoint to each of the policy's witnesses that has a URL and has not
    cosigned it yet, from the size it last cosigned (learnt again from a 409), and keep the valid
    cosignatures they return."""
    kept = {c.witness for c in await store.checkpoints.cosignatures(checkpoint.size)}
    sizes = await store.checkpoints.witnessed_sizes()
    text, _ = note.split(signed)
    cosignatures: list[Cosignature] = []
    refusals: dict[str, str] = {}
    forks: list[str] = []
    for witnessed in policy.witnesses:
        wid = witness_id(witnessed.key)
        if witnessed.url is None or wid in kept:
            continue
        old = min(sizes.get(wid, 0), checkpoint.size)
        for _attempt in range(2):
            proof = () if old == 0 else tuple(await tree.consistency(old, checkpoint.size))
            try:
                lines = await submit(http, witnessed.url, Submission(old, proof, signed))
            except WitnessRefusal as refusal:
                if refusal.status == 409 and refusal.size is not None and refusal.size != old:
                    if refusal.size > checkpoint.size:
                        forks.append(
                            f"{witnessed.key.name} cosigned a tree of {refusal.size}, larger "
                            f"than this log's {checkpoint.size}"
                        )
                        break
                    old = refusal.size
                    continue
                if refusal.status in (409, 422):
                    forks.append(f"{witnessed.key.name}: {refusal.message}")
                else:
                    refusals[witnessed.key.name] = f"{refusal.status} {refusal.message}"
                break
            found = _valid(witnessed.key, text, lines, checkpoint.size)
            if found is None:
                refusals[witnessed.key.name] = "answered without a valid cosignature"
            else:
                cosignatures.append(found)
            break
    if cosignatures:
        await store.checkpoints.keep_cosignatures(cosignatures)
    return Gathered(cosignatures, refusals, forks)


def _valid(key: CosignerKey, text: str, lines: str, size: int) -> Cosignature | None:
    from store.checkpoints import Cosignature

    try:
        _, signatures = note.split(text + "\n" + lines)
    except InvalidInput:
        return None
    for signature in signatures:
        timestamp = key.timestamp_of(text, signature)
        if timestamp is not None:
            return Cosignature(
                size=size,
                witness=witness_id(key),
                line=signature.line(),
                cosigned_at=datetime.fromtimestamp(timestamp, UTC),
            )
    return None


async def cosigned_note(store: EventStore, signed: str, size: int) -> str:
    """The kept checkpoint's signed note with the cosignatures kept for it."""
    lines = "".join(c.line for c in await store.checkpoints.cosignatures(size))
    return signed + lines


async def earliest_cosigned(
    store: EventStore, policy: WitnessPolicy, verifier: note.Verifier, position: int
) -> tuple[str, Checkpoint, dict[str, int]] | None:
    """The earliest kept checkpoint whose tree holds `position` and that carries a quorum of
    the policy's cosignatures: its note with them, the checkpoint, and each witness's time.
    "The event existed by then" rests on the witnesses' clocks, not on the log's."""
    after = 0
    while page := await store.checkpoints.after(after, 100):
        after = page[-1].position
        for kept in page:
            if kept.size < position:
                continue
            signed = await cosigned_note(store, kept.signed, kept.size)
            try:
                checkpoint, times = policy.check(signed, verifier)
            except (AuditFailed, InvalidInput):
                continue
            return signed, checkpoint, times
    return None
