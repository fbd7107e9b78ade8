"""Lifecycle benchmark: Concord's decisions against bare Temporal workflows of the same shape,
on one dev server, the systems alternating within one run, each worker a process of its own.

  (a) full lifecycles, N at a time: start + 36 updates (refer, review, open a round, 27
      concurrences at once, plan, two reports, two items completed, completion), through the
      decision client the CLI and the API use; beside the bare shape with one activity per
      update and with one local activity per update;
  (b) a lone member action: concurrences one at a time, against a bare update with one local
      activity;
  (c) a simultaneous round: 40 decisions, every member answering at once, against the bare
      shape that stores each answer with its own activity, one at a time per workflow.

It prints, and writes to docs/benchmarks.md (between its markers), lifecycles/s, commands/s,
p50/p95 command latency, Temporal history events per decision, the CPU the dev server, the
worker and the projector each spent per unit (a lifecycle, an action), and the worker's RSS,
each with its baseline and the ratio Concord/baseline. Run by hand:
    .venv/bin/python benchmarks/lifecycle.py --lifecycles 40 --concurrency 20 --runs 3
    .venv/bin/python benchmarks/lifecycle.py --backend postgres
    .venv/bin/python benchmarks/lifecycle.py --smoke        # seconds; what the suite runs
    .venv/bin/python benchmarks/lifecycle.py --shape        # one history each, by type, weighed
    .venv/bin/python benchmarks/lifecycle.py --phases lifecycles   # one phase (not written)
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

sys.path.insert(0, str(Path(__file__).parent))

from bare_shape import SANDBOXED, BareAction, BareDecision, BareStart, Variant
from sections import compiled_as_installed, store_and_size_options, write_run
from store_bench import database

from domain.commands import command_of
from domain.nrc import NRC_ROSTERS
from domain.values import text_hash
from runtime.decisions import MAX_IN_FLIGHT, DecisionClient
from runtime.devserver import DevServer, port_is_free
from runtime.temporal import connect
from store.eventstore import open_store
from store.migrate import upgrade
from workflows.decision import SEARCH_ATTRIBUTES
from workflows.messages import WORKFLOW_ID_PREFIX, workflow_id

ROOT = Path(__file__).parents[1]
MEMBERS = NRC_ROSTERS.latest.member_codes
CONCORD_QUEUE, BARE_QUEUE = "bench-concord", "bench-bare"
FAR = "2099-01-01T00:00:00Z"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proc:
    """A process whose CPU time and memory the benchmark reads from /proc."""

    pid: int

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


@dataclass
class Sample:
    """One system's measurements in one phase."""

    seconds: float
    latencies: list[float]
    units: int
    commands: int
    history: float = 0.0
    server_cpu: float = 0.0
    worker_cpu: float = 0.0
    projector_cpu: float = 0.0
    client_cpu: float = 0.0
    """Seconds of CPU each process spent in the phase (Concord's projector; none beside the bare
    shape); the client is this benchmark's own process, which drives either system."""
    worker_rss: float = 0.0

    def rate(self) -> float:
        return self.units / self.seconds

    def cpu_per_unit(self) -> float:
        """Milliseconds of CPU all the processes spent per unit."""
        spent = self.server_cpu + self.worker_cpu + self.projector_cpu + self.client_cpu
        return spent / self.units * 1000

    def p(self, q: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


@dataclass
class Stack:
    client: Client
    decisions: DecisionClient
    server: Proc
    concord: list[Proc]
    """Concord's worker, then its projector."""
    bare: Proc
    workers: ExitStack
    """Holds Concord's worker process: closed and entered again to replace it."""
    start_worker: Callable[[], AbstractContextManager[Proc]]
    store_url: str
    metrics_url: str
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])


async def restarted_worker(s: Stack) -> None:
    """Replace Concord's worker by a new process, whose cache holds no decision yet."""
    s.workers.close()
    s.concord[0] = s.workers.enter_context(s.start_worker())


def free_port() -> int:
    import socket

    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port + 1000 < 65536 and port_is_free("127.0.0.1", port + 1000):
            return port


@contextmanager
def process(command: list[str], env: dict[str, str], log: Path, ready: str) -> Iterator[Proc]:
    with log.open("ab") as out:
        running = subprocess.Popen(command, env=env, stdout=out, stderr=out, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while ready.encode() not in log.read_bytes():
            if running.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield Proc(running.pid)
    finally:
        running.terminate()
        try:
            running.wait(30)
        except subprocess.TimeoutExpired:
            running.kill()


@dataclass(frozen=True)
class Served:
    """A Temporal dev server, ready, and an event store migrated on the benchmark's backend."""

    server: Proc
    address: str
    store_url: str
    metrics_url: str
    """The server's own Prometheus metrics (`--shape` counts its requests)."""


@asynccontextmanager
async def served(backend: str, server_url: str, folder: Path) -> AsyncIterator[Served]:
    port, metrics_port = free_port(), free_port()
    server = DevServer(
        folder / "temporal",
        "127.0.0.1",
        port,
        port + 1000,
        keyword_attributes=[k.name for k in SEARCH_ATTRIBUTES],
        metrics_port=metrics_port,
    )
    server.start()
    try:
        await server.wait_ready()
        assert server.process is not None
        async with database(backend, server_url) as url:
            await upgrade(url)
            yield Served(
                Proc(server.process.pid),
                server.address,
                url,
                f"http://127.0.0.1:{metrics_port}/metrics",
            )
    finally:
        server.stop()


@asynccontextmanager
async def stack(backend: str, server_url: str, folder: Path) -> AsyncIterator[Stack]:
    async with served(backend, server_url, folder) as ready:
        env = os.environ | {
            "CONCORD_TEMPORAL_ADDRESS": ready.address,
            "CONCORD_DATABASE_URL": ready.store_url,
            "CONCORD_TASK_QUEUE": CONCORD_QUEUE,
            "CONCORD_LOG_FORMAT": "json",
        }
        python, concord = sys.executable, str(Path(sys.executable).parent / "concord")

        started = itertools.count(1)

        def start_worker() -> AbstractContextManager[Proc]:
            log = folder / f"worker-{next(started)}.log"  # a new one: its "running" is new
            return process([python, "worker.py"], env, log, "worker running")

        with (
            ExitStack() as workers,
            process([concord, "project"], env, folder / "projector.log", "projector") as p,
            process(
                [python, str(Path(__file__).parent / "bare_shape.py"), "--address",
                 ready.address, "--task-queue", BARE_QUEUE],
                env, folder / "bare.log", "bare worker running",
            ) as bare,
        ):  # fmt: skip
            w = workers.enter_context(start_worker())
            client = await connect(ready.address, "default")
            decisions = DecisionClient(client, CONCORD_QUEUE, search_attributes=True)
            yield Stack(
                client,
                decisions,
                ready.server,
                [w, p],
                bare,
                workers,
                start_worker,
                ready.store_url,
                ready.metrics_url,
            )


async def timed(action: Awaitable[Any], into: list[float]) -> Any:
    started = time.perf_counter()
    result = await action
    into.append(time.perf_counter() - started)
    return result


# --- Concord ---------------------------------------------------------------------------------


async def concord_round_open(s: Stack, decision_id: str, latencies: list[float]) -> str:
    """Propose (the decision's id as its text), refer, forward and open a round; the round's
    text hash."""
    proposal = command_of(
        "submit_proposal",
        decision_id,
        "POL",
        title="Bench",
        text=decision_id,
        area="crisis_management",
    )
    await timed(s.decisions.propose(proposal), latencies)  # type: ignore[arg-type]
    for kind, fields in (("refer", {}), ("complete_review", {"outcome": "forward"}),
                         ("open_round", {"deadline": FAR})):  # fmt: skip
        await timed(
            s.decisions.execute(command_of(kind, decision_id, "chair", **fields)), latencies
        )
    # The round is on the proposal's text, whose hash the proposer knows without asking the
    # decision (a query the bare shape does not make): a wrong one would refuse every answer.
    return text_hash(decision_id)


def concur(s: Stack, decision_id: str, member: str, text_hash: str) -> Awaitable[Any]:
    command = command_of("concur", decision_id, member, round=1, text_hash=text_hash)
    return s.decisions.execute(command)


async def concord_lifecycle(s: Stack, decision_id: str, latencies: list[float]) -> None:
    text_hash = await concord_round_open(s, decision_id, latencies)
    await asyncio.gather(*(timed(concur(s, decision_id, m, text_hash), latencies) for m in MEMBERS))
    items = [
        {"item_id": "A1", "description": "Joint assessment", "assignee": {"kind": "all_members"}},
        {"item_id": "A2", "description": "Exchange", "assignee": {"kind": "member", "code": "RUS"}},
    ]
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("plan_implementation", "chair", {"action_items": items, "report_back_deadline": FAR}),
        ("report_progress", "RUS", {"item_id": "A2", "summary": "Done"}),
        ("report_progress", "GBR", {"item_id": "A1", "summary": "UK part"}),
        ("complete_action_item", "RUS", {"item_id": "A2"}),
        ("complete_action_item", "chair", {"item_id": "A1"}),
        ("complete", "chair", {"summary": "Implemented"}),
    ]
    for kind, actor, fields in steps:
        await timed(s.decisions.execute(command_of(kind, decision_id, actor, **fields)), latencies)


# --- bare --------------------------------------------------------------------------------------


async def bare_started(
    s: Stack, variant: Variant, latencies: list[float]
) -> WorkflowHandle[Any, Any]:
    return await timed(  # type: ignore[no-any-return]
        s.client.start_workflow(
            BareDecision.run,
            BareStart(variant=variant, members=MEMBERS),
            id=f"bare-{uuid.uuid4().hex}",
            task_queue=BARE_QUEUE + (SANDBOXED if variant == "sandboxed-local" else ""),
        ),
        latencies,
    )


async def act(handle: WorkflowHandle[Any, Any], kind: str, member: str = "") -> Any:
    return await handle.execute_update(BareDecision.act, BareAction(kind=kind, member=member))


Update = Callable[[str, str], Awaitable[Any]]
"""One update of a bare shape's workflow, by its kind and the member who gives it ("" for
none)."""


async def bare_concurrences(update: Update, latencies: list[float]) -> None:
    """Every member at once, at most MAX_IN_FLIGHT in flight (Temporal's limit per workflow)."""
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    async def one(member: str) -> None:
        async with slots:
            await timed(update("concur", member), latencies)

    await asyncio.gather(*(one(m) for m in MEMBERS))


async def bare_updates(
    update: Update, latencies: list[float], *, first_given: bool = False
) -> None:
    """A lifecycle's 36 updates, as the bare shape is given them: three one after the other,
    every member's concurrence at once, six more; with `first_given`, the first was given
    already (with the workflow's start)."""
    for kind in ("refer", "review", "open")[1 if first_given else 0 :]:
        await timed(update(kind, ""), latencies)
    await bare_concurrences(update, latencies)
    for kind in ("plan", "report", "report", "complete_item", "complete_item", "complete"):
        await timed(update(kind, ""), latencies)


async def bare_lifecycle(s: Stack, variant: Variant, latencies: list[float]) -> str:
    handle = await bare_started(s, variant, latencies)
    await bare_updates(functools.partial(act, handle), latencies)
    return handle.id


# --- phases -------------------------------------------------------------------------------------


async def measured(
    s: Stack,
    concord: bool,
    units: int,
    commands: int,
    work: Callable[[list[float]], Awaitable[list[str]]],
) -> Sample:
    processes = {"server": s.server, "worker": s.concord[0] if concord else s.bare}
    if concord:
        processes["projector"] = s.concord[1]
    before = {name: p.cpu() for name, p in processes.items()}
    client_before = time.process_time()
    latencies: list[float] = []
    started = time.perf_counter()
    workflow_ids = await work(latencies)
    seconds = time.perf_counter() - started
    client_cpu = time.process_time() - client_before
    spent = {name: p.cpu() - before[name] for name, p in processes.items()}
    sample = Sample(
        seconds=seconds,
        latencies=latencies,
        units=units,
        commands=commands,
        server_cpu=spent["server"],
        worker_cpu=spent["worker"],
        projector_cpu=spent.get("projector", 0.0),
        client_cpu=client_cpu,
        worker_rss=processes["worker"].rss_mib(),
    )
    if workflow_ids:
        lengths = [
            (
                await s.client.get_workflow_handle(w).describe()
            ).raw_description.workflow_execution_info.history_length
            for w in workflow_ids[:10]
        ]
        sample.history = statistics.mean(lengths)
    return sample


async def lifecycles(s: Stack, system: str, count: int, concurrency: int) -> Sample:
    slots = asyncio.Semaphore(concurrency)
    batch = uuid.uuid4().hex[:6]

    async def work(latencies: list[float]) -> list[str]:
        async def one(n: int) -> str:
            async with slots:
                if system == "concord":
                    decision_id = f"life-{batch}-{n}"
                    await concord_lifecycle(s, decision_id, latencies)
                    return workflow_id(decision_id)
                return await bare_lifecycle(s, system, latencies)  # type: ignore[arg-type]

        done = list(await asyncio.gather(*(one(n) for n in range(count))))
        if system == "concord":  # a lifecycle ends with its run's history in the archive
            await archived(s.store_url, [d.removeprefix(WORKFLOW_ID_PREFIX) for d in done])
        return done

    return await measured(s, system == "concord", count, count * 37, work)


async def archived(store_url: str, decision_ids: list[str], within: float = 60.0) -> None:
    """Once every decision's run has its history archived (`HistoryArchive.awaited`);
    Unavailable, naming a decision still waiting, after `within` seconds in all (is the
    projector's archivist running?)."""
    store = await open_store(store_url)
    give_up = time.monotonic() + within
    try:
        for decision_id in decision_ids:
            await store.archive.awaited(decision_id, 1, max(0.0, give_up - time.monotonic()))
    finally:
        await store.close()


async def lone_actions(s: Stack, system: str, decisions: int) -> Sample:
    """Concurrences one at a time, each timed alone (the setup is not timed)."""
    batch = uuid.uuid4().hex[:6]
    prepared: list[Any] = []
    for n in range(decisions):
        if system == "concord":
            decision_id = f"lone-{batch}-{n}"
            prepared.append((decision_id, await concord_round_open(s, decision_id, [])))
        else:
            prepared.append(await bare_started(s, system, []))  # type: ignore[arg-type]

    async def work(latencies: list[float]) -> list[str]:
        for item in prepared:
            for member in MEMBERS[:-1]:  # the last would close the round: another shape
                if system == "concord":
                    await timed(concur(s, item[0], member, item[1]), latencies)
                else:
                    await timed(act(item, "concur", member), latencies)
        return []

    count = decisions * (len(MEMBERS) - 1)
    return await measured(s, system == "concord", count, count, work)


async def simultaneous_round(s: Stack, system: str, decisions: int) -> Sample:
    batch = uuid.uuid4().hex[:6]
    prepared: list[Any] = []
    for n in range(decisions):
        if system == "concord":
            decision_id = f"round-{batch}-{n}"
            prepared.append((decision_id, await concord_round_open(s, decision_id, [])))
        else:
            prepared.append(await bare_started(s, "serialised", []))

    async def work(latencies: list[float]) -> list[str]:
        if system == "concord":
            await asyncio.gather(
                *(timed(concur(s, d, m, h), latencies) for d, h in prepared for m in MEMBERS)
            )
        else:
            await asyncio.gather(
                *(bare_concurrences(functools.partial(act, h), latencies) for h in prepared)
            )
        return []

    count = decisions * len(MEMBERS)
    return await measured(s, system == "concord", count, count, work)


# --- report -------------------------------------------------------------------------------------


def spread(values: list[float], digits: int = 1) -> str:
    low, high = min(values), max(values)
    return (
        f"{low:,.{digits}f}"
        if round(low, digits) == round(high, digits)
        else f"{low:,.{digits}f}-{high:,.{digits}f}"
    )


def ratio(ours: list[float], theirs: list[float]) -> str:
    return f"{statistics.mean(ours) / statistics.mean(theirs):.2f}x"


def table(results: dict[str, list[Sample]], pairs: list[tuple[str, str, str]]) -> list[str]:
    lines = [
        "| phase | system | units/s | commands/s | p50 ms | p95 ms | history events "
        "| server CPU ms/unit | worker CPU ms/unit | projector CPU ms/unit "
        "| client CPU ms/unit | all CPU ms/unit | worker RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, samples in results.items():
        lines.append(
            f"| {name.split(':')[0]} | {name.split(':')[1]} "
            f"| {spread([x.rate() for x in samples], 2)} "
            f"| {spread([x.commands / x.seconds for x in samples])} "
            f"| {spread([x.p(50) for x in samples])} | {spread([x.p(95) for x in samples])} "
            f"| {spread([x.history for x in samples], 0)} "
            f"| {spread([x.server_cpu / x.units * 1000 for x in samples])} "
            f"| {spread([x.worker_cpu / x.units * 1000 for x in samples])} "
            f"| {spread([x.projector_cpu / x.units * 1000 for x in samples])} "
            f"| {spread([x.client_cpu / x.units * 1000 for x in samples])} "
            f"| {spread([x.cpu_per_unit() for x in samples])} "
            f"| {spread([x.worker_rss for x in samples], 0)} |"
        )
    lines += [
        "",
        "| ratio, Concord / baseline | units/s | p50 | p95 | all CPU per unit |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, ours, theirs in pairs:
        if ours not in results or theirs not in results:
            continue  # a phase not run
        a, b = results[ours], results[theirs]
        lines.append(
            f"| {label} | {ratio([x.rate() for x in a], [x.rate() for x in b])} "
            f"| {ratio([x.p(50) for x in a], [x.p(50) for x in b])} "
            f"| {ratio([x.p(95) for x in a], [x.p(95) for x in b])} "
            f"| {ratio([x.cpu_per_unit() for x in a], [x.cpu_per_unit() for x in b])} |"
        )
    return lines


async def bench(arguments: argparse.Namespace) -> list[str]:
    compiled_as_installed()
    results: dict[str, list[Sample]] = {}

    def keep(name: str, sample: Sample) -> None:
        results.setdefault(name, []).append(sample)
        print(
            f"{name}: {sample.rate():,.2f}/s, p50 {sample.p(50):.1f} ms, "
            f"p95 {sample.p(95):.1f} ms, "
            f"server {sample.server_cpu:.1f} s, worker {sample.worker_cpu:.1f} s, "
            f"projector {sample.projector_cpu:.1f} s, client {sample.client_cpu:.1f} s CPU",
            flush=True,
        )

    phases = set(arguments.phases)
    with tempfile.TemporaryDirectory(prefix="concord-lifecycle-") as folder:
        async with stack(arguments.backend, arguments.server, Path(folder)) as s:
            print(  # for a profiler to attach to
                f"processes: server {s.server.pid}, worker {s.concord[0].pid}, "
                f"projector {s.concord[1].pid}, bare worker {s.bare.pid}",
                flush=True,
            )
            if arguments.shape:
                return await shapes(s)
            for _ in range(arguments.runs):
                for system in ("concord", "activity", "local"):
                    if "lifecycles" in phases:
                        keep(
                            f"lifecycles:{system}",
                            await lifecycles(
                                s, system, arguments.lifecycles, arguments.concurrency
                            ),
                        )
                for system in ("concord", "activity", "local", "sandboxed-local"):
                    if "lone" in phases:
                        keep(f"lone action:{system}", await lone_actions(s, system, arguments.lone))
                for system in ("concord", "serialised"):
                    if "round" in phases:
                        keep(
                            f"simultaneous round:{system}",
                            await simultaneous_round(s, system, arguments.round_decisions),
                        )
    return table(
        results,
        [
            ("lifecycles vs one activity per update", "lifecycles:concord", "lifecycles:activity"),
            (
                "lifecycles vs one local activity per update",
                "lifecycles:concord",
                "lifecycles:local",
            ),
            (
                "lone action vs an update with one activity",
                "lone action:concord",
                "lone action:activity",
            ),
            (
                "lone action vs an update with one local activity",
                "lone action:concord",
                "lone action:local",
            ),
            (
                "lone action vs the same, sandboxed as Concord's workflow is",
                "lone action:concord",
                "lone action:sandboxed-local",
            ),
            (
                "simultaneous round vs one serialised append per update",
                "simultaneous round:concord",
                "simultaneous round:serialised",
            ),
        ],
    )


async def shapes(s: Stack) -> list[str]:
    """One lifecycle of Concord's and one of the bare local shape's, side by side: their
    histories counted by event type, and the requests the dev server served for each, by
    operation (Concord's with its run's archive, each counted from the server's metrics once
    the server has been idle a moment)."""
    decision_id = f"shape-{s.tag}"
    requests = []
    before = await served_requests(s.metrics_url)
    await concord_lifecycle(s, decision_id, [])
    await archived(s.store_url, [decision_id])
    await asyncio.sleep(SETTLE_S)
    between = await served_requests(s.metrics_url)
    requests.append(between - before)
    bare = await bare_lifecycle(s, "local", [])
    await asyncio.sleep(SETTLE_S)
    requests.append(await served_requests(s.metrics_url) - between)
    counted: list[Counter[str]] = []
    weighed: list[Counter[str]] = []
    for workflow in (workflow_id(decision_id), bare):
        history = await s.client.get_workflow_handle(workflow).fetch_history()
        counted.append(Counter(EventType.Name(e.event_type) for e in history.events))
        weighed.append(Counter())
        for e in history.events:
            weighed[-1][EventType.Name(e.event_type)] += e.ByteSize()
    lines = [
        "| history event | concord | bare local shape | concord bytes | bare bytes |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind in sorted(set(counted[0]) | set(counted[1])):
        name = kind.removeprefix("EVENT_TYPE_")
        lines.append(
            f"| {name} | {counted[0][kind]} | {counted[1][kind]} "
            f"| {weighed[0][kind]:,} | {weighed[1][kind]:,} |"
        )
    lines.append(
        f"| all | {sum(counted[0].values())} | {sum(counted[1].values())} "
        f"| {sum(weighed[0].values()):,} | {sum(weighed[1].values()):,} |"
    )
    lines += ["", "| requests the server served | concord | bare local shape |", "|---|---:|---:|"]
    for operation in sorted(set(requests[0]) | set(requests[1])):
        lines.append(f"| {operation} | {requests[0][operation]} | {requests[1][operation]} |")
    return lines


SETTLE_S: Final = 2.0
"""Idle time before the server's request counters are read: its workers' polls in flight end."""


async def served_requests(metrics_url: str) -> Counter[str]:
    """The requests the dev server's frontend has served so far, by operation, from its
    metrics: what its clients (the workers, the benchmark, the projector) asked of it."""
    text = await asyncio.to_thread(lambda: urllib.request.urlopen(metrics_url, timeout=5).read())
    served: Counter[str] = Counter()
    for line in text.decode().splitlines():
        if not line.startswith("service_requests{"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        if labels.get("service_name") == "frontend":
            served[labels["operation"]] += int(float(line.rsplit(" ", 1)[1]))
    return served


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lifecycles", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--lone", type=int, default=6, help="decisions answered one at a time")
    parser.add_argument("--round-decisions", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--phases",
        nargs="+",
        choices=("lifecycles", "lone", "round"),
        default=["lifecycles", "lone", "round"],
        help="the phases to run (a partial run is not written)",
    )
    parser.add_argument(
        "--shape",
        action="store_true",
        help="count and weigh one lifecycle's history events by type, beside the bare shape's",
    )
    store_and_size_options(parser)
    arguments = parser.parse_args(argv)
    if arguments.shape or len(arguments.phases) < 3:
        arguments.no_write = True
    if arguments.smoke:
        arguments.lifecycles, arguments.concurrency, arguments.lone = 2, 2, 1
        arguments.round_decisions, arguments.runs, arguments.no_write = 2, 1, True
    lines = asyncio.run(bench(arguments))
    print("\n".join(lines))
    if not arguments.no_write:
        write_run(
            __file__,
            "lifecycle benchmark",
            "## Lifecycles against bare Temporal",
            "; each row is the range over the runs, the systems alternating within each run.",
            lines,
            argv,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
