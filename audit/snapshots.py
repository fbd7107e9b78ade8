"""A decision's state at an instant in milliseconds, also for decisions of thousands of events:
every SNAPSHOT_EVERY events its folded state is kept, bound to the chain hash of the event it
follows and signed with the log's key. Before a snapshot is used, its signature is checked and
the log's event at its version must still carry that hash; one that fails either is reported and
not used (the events are folded from the start instead)."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any, Final

import structlog

from audit.asof import evolved
from audit.note import Signer, Verifier
from domain.errors import NotFound
from domain.state import DecisionState
from store.eventstore import EventStore
from store.hashing import format_instant

SNAPSHOT_EVERY: Final = 1_000
log = structlog.get_logger(__name__)


def _message(
    decision_id: str, version: int, occurred_at: str, event_hash: str, state: str
) -> bytes:
    digest = hashlib.sha256(state.encode()).hexdigest()
    lines = ("concord-snapshot/v1", decision_id, str(version), occurred_at, event_hash, digest)
    return "".join(f"{line}\n" for line in lines).encode()


async def _verified(store: EventStore, row: Any, verifier: Verifier) -> DecisionState | None:
    message = _message(
        row.decision_id, row.stream_version, row.occurred_at, row.event_hash, row.state_json
    )
    try:
        signature = base64.b64decode(row.signature, validate=True)
    except ValueError:
        signature = b""
    problem = None
    if not verifier.verify(message, signature):
        problem = "its signature does not verify"
    elif await store.event_hash(row.decision_id, row.stream_version) != row.event_hash:
        problem = "the log's event at its version no longer carries the hash it was taken on"
    if problem is None:
        try:
            return DecisionState.model_validate_json(row.state_json)
        except ValueError:
            problem = "its state cannot be read"
    log.warning(
        "state snapshot not used",
        decision_id=row.decision_id,
        stream_version=row.stream_version,
        reason=problem,
    )
    return None


async def state_at(
    store: EventStore,
    decision_id: str,
    instant: datetime | None,
    key: Signer | None,
    *,
    through: int | None = None,
) -> tuple[DecisionState | None, int | None]:
    """The decision's state at `instant` (its events that took effect by then, folded; None:
    all of them) and, with `through`, no later than that stream version; and the version of
    the snapshot it started from (None: folded from the start). With `key`, the snapshots it
    passes are kept for the next time."""
    start, state = 1, None
    if key is not None:
        row = await store.snapshots.latest(decision_id, instant, through=through)
        if row is not None:
            state = await _verified(store, row, key.verifier)
            if state is not None:
                start = row.stream_version + 1
    used = start - 1 if start > 1 else None
    events = await store.events_until(decision_id, instant, start, through=through)
    if state is None and not events and await store.stream_version(decision_id) == 0:
        raise NotFound(f"no decision {decision_id} in the event store")
    kept: list[dict[str, Any]] = []
    for stored in events:
        state = evolved(state, stored)
        if key is not None and stored.stream_version % SNAPSHOT_EVERY == 0:
            text = state.model_dump_json()
            occurred = format_instant(stored.occurred_at)
            message = _message(decision_id, stored.stream_version, occurred, stored.hash, text)
            kept.append(
                {
                    "decision_id": decision_id,
                    "stream_version": stored.stream_version,
                    "occurred_at": occurred,
                    "event_hash": stored.hash,
                    "state_json": text,
                    "signature": base64.b64encode(key.sign_bytes(message)).decode(),
                }
            )
    await store.snapshots.keep(kept)
    return state, used
