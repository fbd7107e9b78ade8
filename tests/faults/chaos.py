"""Decisions driven through whole lifecycles while workers die and servers restart.

Used by the fault test (`pytest -m faults`, a small run) and by hand for the figures in
docs/reliability.md:  .venv/bin/python -m tests.faults.chaos --backend postgres --runs 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from sqlalchemy.engine import make_url

from audit.verify import verify_log
from domain.commands import command_of
from domain.errors import Unavailable
from runtime.decisions import DecisionClient
from runtime.devserver import DevServer
from runtime.temporal import connect
from store.archive import parse_history
from store.eventstore import EventStore, open_store
from tests.councils import testing_rosters
from tests.e2e.conftest import WorkerProcess
from tests.pg import PostgresTestSettings, cluster, ready
from tests.ports import free_port
from tests.stores import migrated_store
from workflows.decision import SEARCH_ATTRIBUTES
from workflows.messages import DecisionResult, Receipt

T = TypeVar("T")
FaultKind = Literal["kill_worker", "kill_projector", "restart_temporal", "restart_postgres"]
RESTARTS: tuple[FaultKind, ...] = ("restart_temporal", "restart_postgres")

GIVE_UP_S = 180.0
"""A command or a decision's close that takes longer than this counts as stuck."""
RETRY_PAUSE_S = 0.25
RESTART_ATTEMPTS = 3
ARCHIVE_WAIT_S = 60.0
"""How long after the last decision closed the projector has to archive every closing run."""
WORKER_LOSS_WINDOW_S = 2.0
"""Commands sent up to this long after a worker is killed count as affected by its loss."""


@dataclass(frozen=True)
class Fault:
    at: float
    """Seconds after the run starts."""
    kind: FaultKind


def _plan(
    faults: Sequence[tuple[float, FaultKind]], postgres_at: float, postgres: bool
) -> list[Fault]:
    plan = [Fault(at, kind) for at, kind in faults]
    return [*plan, Fault(postgres_at, "restart_postgres")] if postgres else plan


def small_plan(postgres: bool) -> list[Fault]:
    """Two worker kills, a projector kill, one Temporal restart and (on PostgreSQL) one database
    restart, each well apart from the others so every fault's effect is measured on its own."""
    faults: list[tuple[float, FaultKind]] = [
        (3, "kill_worker"),
        (9, "kill_projector"),
        (15, "kill_worker"),
        (27, "restart_temporal"),
    ]
    return _plan(faults, 42, postgres)


def full_plan(postgres: bool) -> list[Fault]:
    """Four worker kills, two projector kills, a Temporal restart and a database restart in
    one run."""
    kills: list[tuple[float, FaultKind]] = [(at, "kill_worker") for at in (3, 14, 40, 51)]
    projector: list[tuple[float, FaultKind]] = [(at, "kill_projector") for at in (8, 45)]
    return _plan([*kills, *projector, (25, "restart_temporal")], 62, postgres)


@dataclass
class Timed:
    decision_id: str
    kind: str
    started: float
    ended: float
    attempts: int
    receipt: Receipt

    @property
    def latency(self) -> float:
        return self.ended - self.started


@dataclass
class Report:
    backend: str
    faults: dict[str, int]
    decisions: int
    commands: int
    events: int
    lost: int
    duplicated: int
    unreceipted: int
    stuck: int
    unarchived: int
    chain_verified: bool
    worst_latency_after_worker_loss_s: float
    worst_latency_s: float
    retried_commands: int
    problems: list[str] = field(default_factory=list)
    temporal_restart_failures: int = 0
    """Starts of the dev server that exited at once and were tried again (logs kept)."""

    @property
    def ok(self) -> bool:
        return not self.problems


class Cluster:
    """The processes a fault plan acts on: a dev server on a persistent file, worker processes
    and the projector (which archives each closed decision's run), each killed, restarted or
    replaced as an orchestrator would."""

    def __init__(self, workdir: Path, store_url: str, workers: int = 2) -> None:
        self.workdir = workdir
        self.store_url = store_url
        port = free_port()  # its Web UI takes port + 1000, free too
        self.server = DevServer(
            workdir / "temporal",
            "127.0.0.1",
            port,
            port + 1000,
            keyword_attributes=[key.name for key in SEARCH_ATTRIBUTES],
        )
        self.task_queue = f"concord-chaos-{uuid.uuid4().hex[:8]}"
        self.workers = [
            WorkerProcess(self.server.address, store_url, self.task_queue, workdir / f"w{i}.log")
            for i in range(workers)
        ]
        self.projector = WorkerProcess(
            self.server.address,
            store_url,
            self.task_queue,
            workdir / "projector.log",
            program=(str(Path(sys.executable).with_name("concord")), "project"),
            ready="projector running",
        )
        self._killed = 0
        self.restart_failures = 0
        """Starts of the dev server that exited at once and were tried again (logs kept)."""

    async def start(self) -> None:
        self.server.start()
        await self.server.wait_ready()
        for process in (*self.workers, self.projector):
            await asyncio.to_thread(process.start)

    def stop(self) -> None:
        for worker in (*self.workers, self.projector):
            if worker.process is not None and worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait(10)
        self.server.stop()

    async def inflict(self, kind: FaultKind) -> None:
        if kind == "kill_worker":
            await self.kill_a_worker()
        elif kind == "kill_projector":
            await self.kill_the_projector()
        elif kind == "restart_temporal":
            await self.restart_temporal()
        else:
            await asyncio.to_thread(restart_postgres)

    async def restart_temporal(self) -> None:
        """Stop the dev server and start it again on its file. Under load its first start
        now and then exits at once (seen once in three runs); the log of such a start is kept
        beside the run's and the start tried again, as an orchestrator would."""
        await asyncio.to_thread(self.server.stop)
        for attempt in range(1, RESTART_ATTEMPTS + 1):
            self.server.start()
            try:
                await self.server.wait_ready()
                return
            except Unavailable:
                failed = self.server.log_path.with_name(f"temporal-start-{attempt}.log")
                self.server.log_path.rename(failed)
                self.restart_failures += 1
                if attempt == RESTART_ATTEMPTS:
                    raise
                await asyncio.sleep(1)

    async def kill_a_worker(self) -> None:
        """SIGKILL the workers in turn; its replacement starts a second later."""
        worker = self.workers[self._killed % len(self.workers)]
        self._killed += 1
        await asyncio.to_thread(worker.kill)
        await asyncio.sleep(1)
        await asyncio.to_thread(worker.start)

    async def kill_the_projector(self) -> None:
        """SIGKILL the projector, perhaps in the middle of an archive; its replacement starts a
        second later and takes the lease over once the dead one's has lapsed."""
        await asyncio.to_thread(self.projector.kill)
        await asyncio.sleep(1)
        await asyncio.to_thread(self.projector.start)


class Chaos:
    """One run: a dev server, workers, lanes of decisions, and the fault plan carried out."""

    def __init__(self, workdir: Path, store_url: str, workers: int = 2, lanes: int = 3) -> None:
        self.cluster = Cluster(workdir, store_url, workers)
        self.store_url = store_url
        self.backend = make_url(store_url).get_backend_name()
        self.lanes = lanes
        self.timed: list[Timed] = []
        self.decision_ids: list[str] = []
        self.fault_windows: list[tuple[FaultKind, float, float]] = []
        self.failures: list[str] = []

    # --- the run ----------------------------------------------------------------------------

    async def run(self, plan: Sequence[Fault]) -> Report:
        try:
            await self.cluster.start()
            client = await connect(self.cluster.server.address, "default")
            self.decisions = DecisionClient(
                client, self.cluster.task_queue, search_attributes=False, rosters=testing_rosters
            )
            done = asyncio.Event()
            lanes = [asyncio.create_task(self._lane(n, done)) for n in range(self.lanes)]
            self.t0 = time.monotonic()
            await self._carry_out(plan)
            done.set()
            await asyncio.gather(*lanes)
            results = await asyncio.gather(*(self._closed(d) for d in self.decision_ids))
            return await self._report(plan, results)
        finally:
            self.cluster.stop()

    async def _carry_out(self, plan: Sequence[Fault]) -> None:
        for fault in sorted(plan, key=lambda f: f.at):
            await asyncio.sleep(max(0.0, self.t0 + fault.at - time.monotonic()))
            started = time.monotonic()
            await self.cluster.inflict(fault.kind)
            self.fault_windows.append((fault.kind, started, time.monotonic()))
        await asyncio.sleep(8)  # traffic goes on a while after the last fault

    async def _lane(self, lane: int, done: asyncio.Event) -> None:
        number = 0
        while not done.is_set():
            number += 1
            decision_id = f"d-chaos-{lane}-{number}-{uuid.uuid4().hex[:6]}"
            self.decision_ids.append(decision_id)
            try:
                await self._lifecycle(decision_id)
            except Exception as error:  # recorded as a problem; the other lanes go on
                self.failures.append(f"{decision_id}: {type(error).__name__}: {error}")
                return

    async def _lifecycle(self, d: str) -> None:
        await self._do(
            d,
            "submit_proposal",
            "POL",
            title="Joint assessment",
            text="Draft",
            area="crisis_management",
        )
        await self._do(d, "refer", "chair")
        await self._do(d, "complete_review", "chair", outcome="forward")
        await self._do(d, "open_round", "chair", deadline=_later(hours=1))
        status = await self._retrying(lambda: self.decisions.status(d))
        assert status.state is not None
        opened = status.state.round(1)
        await asyncio.gather(
            *(self._do(d, "concur", m, round=1, text_hash=opened.text_hash) for m in opened.members)
        )
        await self._do(
            d,
            "plan_implementation",
            "chair",
            report_back_deadline=_later(days=180),
            action_items=[
                {"item_id": "A1", "description": "Assess", "assignee": {"kind": "all_members"}}
            ],
        )
        await self._do(d, "report_progress", "USA", item_id="A1", summary="Drafted")
        await self._do(d, "complete_action_item", "chair", item_id="A1")
        await self._do(d, "complete", "chair", summary="Implemented")

    async def _do(self, decision_id: str, kind: str, actor: str, **fields: Any) -> None:
        command = command_of(kind, decision_id, actor, **fields)
        key = f"{decision_id}/{kind}/{actor}"
        started = time.monotonic()
        attempts = 0

        async def send() -> Receipt:
            nonlocal attempts
            attempts += 1
            return await self.decisions.give(command, key)

        receipt = await self._retrying(send)
        self.timed.append(Timed(decision_id, kind, started, time.monotonic(), attempts, receipt))

    async def _retrying(self, call: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """What a careful client does: the same call (same key) again while a service is down."""
        give_up = time.monotonic() + GIVE_UP_S
        while True:
            try:
                return await call()
            except Unavailable:
                if time.monotonic() > give_up:
                    raise
                await asyncio.sleep(RETRY_PAUSE_S)

    async def _closed(self, decision_id: str) -> DecisionResult | None:
        give_up = time.monotonic() + GIVE_UP_S
        while time.monotonic() < give_up:
            try:
                return await self.decisions.outcome(decision_id, 10)
            except Unavailable:
                await asyncio.sleep(RETRY_PAUSE_S)
        return None

    # --- what the log holds afterwards -------------------------------------------------------

    async def _unarchived(self, store: EventStore) -> int:
        """Decisions whose closing run the projector has not archived whole within
        ARCHIVE_WAIT_S (it archives a run once the run has closed)."""
        give_up = time.monotonic() + ARCHIVE_WAIT_S
        waiting = set(self.decision_ids)
        while True:
            waiting = {d for d in waiting if not await _whole_run_archived(store, d)}
            if not waiting or time.monotonic() > give_up:
                return len(waiting)
            await asyncio.sleep(0.5)

    async def _report(
        self, plan: Sequence[Fault], results: Sequence[DecisionResult | None]
    ) -> Report:
        problems = list(self.failures)
        store = await open_store(self.store_url)
        try:
            lost = duplicated = unreceipted = events = unarchived = 0
            by_decision: dict[str, list[Timed]] = {}
            for t in self.timed:
                by_decision.setdefault(t.decision_id, []).append(t)
            for decision_id in self.decision_ids:
                stream = await store.stream(decision_id)
                events += len(stream)
                ids = [e.event_id for e in stream]
                if [e.stream_version for e in stream] != list(range(1, len(stream) + 1)):
                    problems.append(f"{decision_id}: stream versions are not 1..{len(stream)}")
                named = [i for t in by_decision.get(decision_id, []) for i in t.receipt.event_ids]
                lost += len(set(named) - set(ids))
                unreceipted += len(set(ids) - set(named))
                duplicated += len(named) - len(set(named))
                answers = Counter((e.type, e.actor) for e in stream if e.type != "RemindersSent")
                duplicated += sum(n - 1 for n in answers.values() if n > 1)
            unarchived = await self._unarchived(store)
            verified = (await verify_log(store)).ok
        finally:
            await store.close()
        stuck = sum(1 for r in results if r is None or r.status != "completed")
        kills = [start for kind, start, _ in self.fault_windows if kind == "kill_worker"]
        restarts = [(s, e) for kind, s, e in self.fault_windows if kind in RESTARTS]
        after_loss = [
            t.latency
            for t in self.timed
            if any(t.started <= k + WORKER_LOSS_WINDOW_S and t.ended >= k for k in kills)
            and not any(t.started <= e and t.ended >= s for s, e in restarts)
        ]
        report = Report(
            backend=self.backend,
            faults=dict(Counter(f.kind for f in plan)),
            decisions=len(self.decision_ids),
            commands=len(self.timed),
            events=events,
            lost=lost,
            duplicated=duplicated,
            unreceipted=unreceipted,
            stuck=stuck,
            unarchived=unarchived,
            chain_verified=verified,
            worst_latency_after_worker_loss_s=round(max(after_loss, default=0.0), 2),
            worst_latency_s=round(max((t.latency for t in self.timed), default=0.0), 2),
            retried_commands=sum(1 for t in self.timed if t.attempts > 1),
            problems=problems,
        )
        for name in ("lost", "duplicated", "stuck", "unarchived"):
            if getattr(report, name):
                problems.append(f"{getattr(report, name)} {name}")
        if not verified:
            problems.append("the chain does not verify")
        return report


async def _whole_run_archived(store: EventStore, decision_id: str) -> bool:
    """Whether the decision's run that closed it is archived, its close included."""
    return any(
        parse_history(h.history_json)[-1]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
        for h in await store.archive.histories(decision_id)
    )


def _later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def restart_postgres() -> None:
    """Restart the tests' PostgreSQL cluster (fast mode: sessions are cut, as in a crash
    recovery or a failover) and wait until it accepts connections again."""
    version, name = cluster()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", "-m", "fast", version, name, "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    ready(make_url(PostgresTestSettings().test_postgres_url).port or 5432)


async def one_run(backend: str, plan: Sequence[Fault], lanes: int, workers: int) -> Report:
    workdir = Path(tempfile.mkdtemp(prefix="concord-chaos-"))
    async with migrated_store(backend, workdir, "concord_chaos") as url:
        chaos = Chaos(workdir, url, workers=workers, lanes=lanes)
        report = await chaos.run(plan)
    report.temporal_restart_failures = chaos.cluster.restart_failures
    if report.ok and not chaos.cluster.restart_failures:
        shutil.rmtree(workdir, ignore_errors=True)
    elif not report.ok:
        report.problems.append(f"logs kept in {workdir}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--lanes", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for number in range(1, args.runs + 1):
        report = asyncio.run(
            one_run(args.backend, full_plan(args.backend == "postgres"), args.lanes, args.workers)
        )
        print(json.dumps({"run": number, "ok": report.ok, **asdict(report)}), flush=True)


if __name__ == "__main__":
    main()
