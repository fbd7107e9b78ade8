"""What `concord doctor` finds: whether the installation is sound, and what it has left undone
(imported when the command runs)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from activities.archivist import ARCHIVIST
from activities.events import archive_run
from audit.checkpoint import checked_head_root
from audit.note import Signer
from audit.tree import TREE
from cli.session import decisions, event_store, settings
from domain.council import stranded
from domain.errors import ConcordError, InvalidHistory, InvalidInput
from domain.values import TERMINAL
from runtime.bootstrap import PROJECTOR_LEASE, projector
from runtime.decisions import DecisionRun
from store.councils import Councils
from store.engine import url_without_password
from store.eventstore import EventStore
from store.leases import DEFAULT_TTL_S, LeaseRow
from store.queries import list_decisions, open_decision_states
from store.revisions import head_revision

LAG_LIMIT: Final = 1_000
"""A projection this many events behind the log is reported: is `concord project` running?"""
SILENT_PROJECTOR_S: Final = 2 * DEFAULT_TTL_S
"""A projector whose heartbeat is older than this, while events wait, has stopped."""
CLOSED_RUNS = ("Completed", "ContinuedAsNew")
"""Runs whose history is archived: the one a decision closed with (by the projector's archivist)
and each it continued from (by the run after it)."""


async def archivist_passed(store: EventStore, run: DecisionRun, archivist_at: int) -> bool:
    """Whether the projector's archivist has followed the log past the decision's last event:
    a run closed since is its to archive at its next pass, not yet missing."""
    stream = await store.stream(run.decision_id)
    return not stream or stream[-1].position <= archivist_at


async def findings_of(repair: bool) -> dict[str, Any]:
    async with decisions() as client, event_store() as store:
        closed = await client.runs(*CLOSED_RUNS)
        archived = await store.archive.archived([r.run_id for r in closed])
        archivist_at = await store.projections.position(ARCHIVIST)
        missing = [
            r
            for r in closed
            if r.run_id not in archived and await archivist_passed(store, r, archivist_at)
        ]
        repaired: list[DecisionRun] = []
        failed: dict[str, str] = {}
        if repair:
            for r in missing:
                try:
                    await archive_run(
                        client.temporal, store, r.decision_id, r.workflow_id, r.run_id
                    )
                except ConcordError as error:
                    failed[r.run_id] = error.message
                else:
                    repaired.append(r)
        head_position, head_hash = await store.head()
        runner = projector(store, client.temporal, client.task_queue)
        lags = await store.projections.lags()  # a projection never run has no row: all its lag
        lag = {name: lags.get(name, head_position) for name in runner.projections}
        lease = await store.leases.lease(PROJECTOR_LEASE)
        checkpoint_alarm = await _checkpoint_alarm(store, lag)
        in_council = await council_findings(store)
        terminal = {s.value for s in TERMINAL}
        ended = {row.decision_id for row in await list_decisions(store) if row.state in terminal}
        running = await client.runs("Running")
        not_closed = sorted(r.decision_id for r in running if r.decision_id in ended)
        # The decisions this installation's workers run: others sharing the namespace are not
        # its own to renew, and their workers may be gone.
        old_code = await client.old_branches(
            [r for r in running if r.task_queue == client.task_queue]
        )
    current = settings()
    return {
        "settings": {
            "temporal_address": current.temporal_address,
            "temporal_namespace": current.temporal_namespace,
            "task_queue": current.task_queue,
            "database": url_without_password(current.database_url),
        },
        "schema_revision": head_revision(),
        "chain_head": {"position": head_position, "hash": head_hash},
        "projector_lag": lag,
        "projections_behind": sorted(name for name, events in lag.items() if events > LAG_LIMIT),
        "projector": _projector(lease, max(lag.values(), default=0)),
        **in_council,
        "checkpoint_alarm": checkpoint_alarm,
        "closed_runs": len(closed),
        "unarchived_runs": [
            {"decision_id": r.decision_id, "run_id": r.run_id, "status": r.status}
            for r in missing
            if r not in repaired
        ],
        "archived_now": [{"decision_id": r.decision_id, "run_id": r.run_id} for r in repaired],
        "archive_errors": failed,
        "ended_but_running": not_closed,
        "old_code": old_code.runs,
        "old_code_unanswered": old_code.unanswered,
    }


async def council_findings(store: EventStore) -> dict[str, Any]:
    """The council in force, and what the decisions in flight rely on that it lacks: the bodies
    their next steps wait on, and each decision's missing body, level, area or member."""
    council = await Councils(store).in_force()
    bodies = {body.code for body in council.bodies}
    states = await open_decision_states(store)
    return {
        "council": council.code,
        "waiting_on_missing_bodies": [
            {"decision_id": state.decision_id, "state": state.status.value, "body": code}
            for state in states
            for code in state.bodies_awaited
            if code not in bodies
        ],
        "stranded_decisions": stranded(council, states),
    }


async def _checkpoint_alarm(store: EventStore, lag: dict[str, int]) -> str | None:
    """Why the log's next checkpoint would be withheld (the signer's own check, run on the tree
    as the projector left it), or None; nothing to say without the log's key or a checkpoint."""
    current = settings()
    try:
        key = Signer.parse(current.signing_key_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, InvalidInput):
        return None
    if await store.checkpoints.latest() is None:
        return None
    head, _ = await store.head()
    try:
        await checked_head_root(store, head - lag[TREE], key.verifier)
    except InvalidHistory as error:
        return error.message
    return None


def _projector(lease: LeaseRow | None, waiting: int) -> dict[str, Any]:
    """Who follows the log, how long since its last heartbeat, and whether it has stopped: a
    projector that has not beaten for a while, or never ran, while events wait for it."""
    silent = None if lease is None else (datetime.now(UTC) - lease.beat_at).total_seconds()
    return {
        "holder": None if lease is None else lease.holder,
        "silent_seconds": silent,
        "events_waiting": waiting,
        "stopped": waiting > 0 and (silent is None or silent > SILENT_PROJECTOR_S),
    }
