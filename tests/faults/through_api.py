"""Decisions driven through the HTTP API, each delegation by its own token, while workers die and
Temporal and PostgreSQL restart: the production shape without Docker.

The dev server runs on a persistent file, the event store on the machine's PostgreSQL, two
`python worker.py`, one `concord project` and one `concord api` as separate processes. Every
decision runs its whole life at once with the others; the faults come at random points of the
traffic (fractions of the commands answered, from a seed), one after another. Afterwards the log,
the receipts and the read models are checked. Used by tests/faults/test_faults.py (CI) and by hand
for docs/reliability.md:

    .venv/bin/python -m tests.faults.through_api --decisions 100 --write
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
from sqlalchemy import select

from activities.archivist import ARCHIVIST
from activities.notify import NOTIFICATIONS, notable
from audit.verify import verify_log
from domain.nrc import NRC_ROSTERS
from runtime.access import Role, Tokens
from runtime.bootstrap import projector
from store.decision_events import domain_event
from store.eventstore import EventStore, open_store
from store.read_models import DecisionsProjection
from tests.faults.chaos import Cluster, FaultKind
from tests.ports import free_port
from tests.stores import migrated_store

DOC: Final = Path(__file__).parents[2] / "docs" / "reliability.md"
GIVE_UP_S: Final = 240.0
"""A command answered by nothing but refusals to wait for this long counts as a failure."""
IN_FLIGHT: Final = 200
"""Requests the clients have in flight at once (more wait their turn, untimed)."""
RETRY_CAP_S: Final = 5.0
HTTP_TIMEOUT_S: Final = 120.0
OPERATOR: Final = "operator"
PROPOSER: Final = "POL"
RETRIED_STATUSES: Final = frozenset({429, 502, 503, 504})
"""Answers a careful client takes as "not now": it waits (Retry-After) and sends it again."""
PROBE_BOUND_S: Final = 40.0
"""The longest a CLI run may take while a server restarts (its own bounds are 30 s and less)."""
EXPECTED_ROUTES: Final = 36
"""Commands one decision's life takes with the 2004 roster's 27 members (9 besides the round)."""


@dataclass(frozen=True)
class Fault:
    at: float
    """The fraction of the run's commands answered when it is carried out."""
    kind: FaultKind


def random_plan(seed: int, kills: int = 4) -> list[Fault]:
    """`kills` worker kills anywhere in the traffic, a Temporal restart in its first half and a
    PostgreSQL restart in its second; carried out one after another, in order of `at`."""
    rng = random.Random(seed)
    plan = [Fault(round(rng.uniform(0.03, 0.85), 3), "kill_worker") for _ in range(kills)]
    plan.append(Fault(round(rng.uniform(0.15, 0.4), 3), "restart_temporal"))
    plan.append(Fault(round(rng.uniform(0.45, 0.7), 3), "restart_postgres"))
    return sorted(plan, key=lambda f: f.at)


@dataclass(frozen=True)
class Probe:
    """One CLI run while a server restarted."""

    command: str
    exit_code: int | None
    seconds: float
    last_line: str
    traceback: bool = False

    def problem(self) -> str | None:
        said = "unavailable" in self.last_line and not self.traceback
        if self.exit_code == 0 or (self.exit_code == 5 and said):
            return None
        return (
            f"concord {self.command}: exit {self.exit_code} after {self.seconds:.1f} s: "
            f"{self.last_line}"
        )


@dataclass
class Sent:
    """One command as its client saw it: every answer, and the receipt it ended with."""

    decision_id: str
    path: str
    who: str
    started: float
    ended: float = 0.0
    answers: list[int] = field(default_factory=list)
    receipt: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    decisions: int
    members_per_round: int
    commands: int
    events: int
    faults: dict[str, int]
    faults_at: list[str]
    receipts_lost: int
    events_lost: int
    duplicates: int
    unreceipted: int
    not_completed: int
    unarchived: int
    """Decisions whose closing run the projector had not archived once it had the whole log."""
    position_gaps: int
    chain_verified: bool
    read_models_equal_rebuild: bool
    notifications: int
    """Notable events of the run's decisions (each to be told once by the projector)."""
    notifications_lost: int
    notifications_told_again: int
    """Repeated tellings: an event told before the projector's position could move past it
    (its store restarted between the two); its deliveries are never started twice."""
    answers: dict[str, int]
    retried_commands: int
    command_p50_s: float
    command_p99_s: float
    worst_command_s: float
    slowest: list[str]
    """The five longest commands: route, when sent (s into the run), seconds, answers."""
    cli_while_restarting: dict[str, int]
    """Exit codes of the CLI runs while a server restarted (`exit 0`, `exit 5`, ...)."""
    cli_slowest_s: float
    duration_s: float
    seed: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Service:
    """A long-running `concord` process with its log, stopped by SIGTERM."""

    def __init__(self, name: str, args: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.args = [str(Path(sys.executable).with_name("concord")), *args]
        self.env = dict(env)
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.args, env=self.env, stdout=out, stderr=out)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


class Delegations:
    """The clients: each delegation, the secretariat and an auditor with its own token, sending
    every command with an idempotency key of its own and sending it again, with the same key,
    whenever the answer is "not now"."""

    def __init__(self, http: httpx.AsyncClient, keys: Mapping[str, str]) -> None:
        self.http = http
        self.keys = keys
        self.sent: list[Sent] = []
        self.answered = 0
        self.progress = asyncio.Condition()
        self.failures: list[str] = []
        self.turns = asyncio.Semaphore(IN_FLIGHT)

    async def command(
        self, who: str, decision_id: str, path: str, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self.keys[who]}",
            "Idempotency-Key": f"{decision_id}{path}/{who}",
        }
        async with self.turns:
            sent = Sent(decision_id, path, who, time.monotonic())
            self.sent.append(sent)
            sent.receipt = await self._until_answered(sent, "POST", path, headers, dict(body), 201)
            sent.ended = time.monotonic()
        async with self.progress:
            self.answered += 1
            self.progress.notify_all()
        return sent.receipt

    async def read(self, who: str, path: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.keys[who]}"}
        async with self.turns:
            return await self._until_answered(None, "GET", path, headers, None, 200)

    async def _until_answered(
        self,
        sent: Sent | None,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict[str, Any] | None,
        expected: int,
    ) -> dict[str, Any]:
        give_up = time.monotonic() + GIVE_UP_S
        while True:
            try:
                response = await self.http.request(method, path, headers=headers, json=body)
                status = response.status_code
            except httpx.TransportError:  # the connection broke, or no answer in time
                status, response = 0, None
            if sent is not None:
                sent.answers.append(status)
            if status == expected and response is not None:
                document: dict[str, Any] = response.json()
                return document
            if status not in RETRIED_STATUSES and status != 0:
                text = response.text if response is not None else ""
                raise AssertionError(f"{method} {path}: {status} {text[:300]}")
            if time.monotonic() > give_up:
                raise AssertionError(f"{method} {path}: still not answered after {GIVE_UP_S} s")
            wait = response.headers.get("Retry-After", "1") if response is not None else "1"
            await asyncio.sleep(min(RETRY_CAP_S, float(wait)) * random.uniform(0.5, 1.0))

    async def wait_for(self, answered: int) -> None:
        async with self.progress:
            await self.progress.wait_for(lambda: self.answered >= answered)


async def lifecycle(clients: Delegations, decision_id: str) -> None:
    """One decision's whole life through the API, each answer in its sender's own name."""
    base = f"/decisions/{decision_id}"
    await clients.command(
        PROPOSER,
        decision_id,
        "/decisions",
        {
            "decision_id": decision_id,
            "title": "Joint assessment of the terrorist threat",
            "text": "The NRC rejects terrorism in all its manifestations.",
            "area": "struggle_against_terrorism",
        },
    )
    await clients.command(OPERATOR, decision_id, f"{base}/referral", {})
    await clients.command(OPERATOR, decision_id, f"{base}/review", {"outcome": "forward"})
    deadline = "2099-01-01T00:00:00Z"
    await clients.command(OPERATOR, decision_id, f"{base}/rounds", {"deadline": deadline})
    state = await clients.read("auditor", base)
    [opened] = state["rounds"]
    answer = {"round": opened["number"], "text_hash": opened["text_hash"]}
    await asyncio.gather(
        *(
            clients.command(member, decision_id, f"{base}/concurrences", answer)
            for member in opened["members"]
        )
    )
    plan = {
        "action_items": [
            {
                "item_id": "A1",
                "description": "Joint assessment",
                "assignee": {"kind": "all_members"},
            },
            {
                "item_id": "A2",
                "description": "Exchange of information",
                "assignee": {"kind": "member", "code": "RUS"},
            },
        ],
        "report_back_deadline": "2099-06-01T00:00:00Z",
    }
    await clients.command(OPERATOR, decision_id, f"{base}/implementation-plan", plan)
    await clients.command(
        "GBR", decision_id, f"{base}/progress-reports", {"item_id": "A1", "summary": "UK part"}
    )
    await clients.command(
        "RUS", decision_id, f"{base}/action-items/A2/completion", {"note": "Exchanged"}
    )
    await clients.command(
        OPERATOR, decision_id, f"{base}/action-items/A1/completion", {"actor": "PC"}
    )
    await clients.command(OPERATOR, decision_id, f"{base}/completion", {"summary": "Implemented"})


class ThroughApi:
    """One run: the processes, the tokens, the decisions at once, the faults at their points."""

    def __init__(self, workdir: Path, store_url: str, decisions: int, seed: int) -> None:
        self.workdir = workdir
        self.store_url = store_url
        self.cluster = Cluster(workdir, store_url, workers=2)
        self.count = decisions
        self.seed = seed
        self.decision_ids = [f"d-api-faults-{seed}-{n}" for n in range(1, decisions + 1)]
        self.port = free_port()
        env = {
            **self.cluster.workers[0].env,
            "CONCORD_API_HOST": "127.0.0.1",
            "CONCORD_API_PORT": str(self.port),
            # The secretariat sends hundreds of commands a minute here: not a limit under test.
            "CONCORD_API_REQUESTS_PER_SECOND": "10000",
            "CONCORD_API_BURST": "10000",
            "CONCORD_DATA_DIR": str(workdir),
        }
        self.api = Service("api", ["api"], env, workdir / "api.log")
        self.projector = Service("projector", ["project"], env, workdir / "projector.log")
        self.faults_at: list[str] = []
        self.shares: list[float] = []
        self.probes: list[Probe] = []
        """The share of the commands answered when each fault came."""
        self.t0 = time.monotonic()

    async def run(self, plan: Sequence[Fault]) -> Report:
        try:
            keys = await self._tokens()
            await self.cluster.start()
            self.projector.start()
            self.api.start()
            limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{self.port}", timeout=HTTP_TIMEOUT_S, limits=limits
            ) as http:
                await self._ready(http)
                clients = Delegations(http, keys)
                started = self.t0 = time.monotonic()
                runs = [asyncio.create_task(lifecycle(clients, d)) for d in self.decision_ids]
                faults = asyncio.create_task(self._carry_out(plan, clients))
                outcomes = await asyncio.gather(*runs, return_exceptions=True)
                await faults
                duration = time.monotonic() - started
                failures = [
                    f"{d}: {type(o).__name__}: {o}"
                    for d, o in zip(self.decision_ids, outcomes, strict=True)
                    if isinstance(o, BaseException)
                ]
                states = await asyncio.gather(
                    *(clients.read("auditor", f"/decisions/{d}") for d in self.decision_ids)
                )
            not_completed = sum(1 for s in states if s["status"] != "completed")
            # Opened after the faults: connections opened before a database restart are dead.
            store = await open_store(self.store_url)
            try:
                equal = await self._read_models_equal_rebuild(store)
                return await self._report(
                    store, plan, clients, failures, not_completed, equal, duration
                )
            finally:
                await store.close()
        finally:
            self.api.stop()
            self.projector.stop()
            self.cluster.stop()

    async def _tokens(self) -> dict[str, str]:
        store = await open_store(self.store_url)
        try:
            return await _issued(Tokens(store))
        finally:
            await store.close()

    async def _ready(self, http: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not self.api.running():
                raise RuntimeError(f"the API exited:\n{self.api.log.read_text()[-3000:]}")
            try:
                if (await http.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"the API was not ready in 60 s:\n{self.api.log.read_text()[-3000:]}")

    async def _carry_out(self, plan: Sequence[Fault], clients: Delegations) -> None:
        total = self.count * EXPECTED_ROUTES
        for fault in plan:
            await clients.wait_for(int(fault.at * total))
            began = time.monotonic() - self.t0
            self.shares.append(clients.answered / total)
            if fault.kind == "kill_worker":
                await self.cluster.inflict(fault.kind)
            else:
                await self._with_cli_probes(self.cluster.inflict(fault.kind))
            self.faults_at.append(
                f"{fault.kind}@{clients.answered / total:.2f} "
                f"({began:.1f}-{time.monotonic() - self.t0:.1f} s)"
            )

    async def _with_cli_probes(self, restart: Coroutine[Any, Any, None]) -> None:
        """While a server restarts, an operator's `concord list` and `concord status` (read
        from the store; status falls back to the workflow) run one after another: each must
        answer, or exit 5 with one line naming what is unavailable, within PROBE_BOUND_S."""
        env = {**self.api.env, "CONCORD_LOG_FORMAT": "json"}
        done = asyncio.Event()

        async def probe() -> None:
            concord = self.api.args[0]
            commands = [["list"], ["status", self.decision_ids[0]]]
            while not done.is_set():
                args = commands[len(self.probes) % 2]
                started = time.monotonic()
                process = await asyncio.create_subprocess_exec(
                    concord,
                    *args,
                    env=env,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                try:
                    _, err = await asyncio.wait_for(process.communicate(), PROBE_BOUND_S)
                except TimeoutError:
                    process.kill()
                    await process.wait()
                    self.probes.append(Probe(args[0], None, PROBE_BOUND_S, "no answer"))
                    continue
                said = err.decode(errors="replace")
                lines = said.strip().splitlines()
                self.probes.append(
                    Probe(
                        args[0],
                        process.returncode,
                        time.monotonic() - started,
                        lines[-1] if lines else "",
                        "Traceback" in said,
                    )
                )

        probing = asyncio.create_task(probe())
        try:
            await restart
        finally:
            done.set()
            await probing

    async def _read_models_equal_rebuild(self, store: EventStore) -> bool:
        """The projector's tables once it has the whole log, against the same tables rebuilt
        from zero by a runner of their own after the projector stopped."""
        runner = projector(store)
        head = (await store.head())[0]
        deadline = time.monotonic() + 60
        followers = [*runner.projections, NOTIFICATIONS, ARCHIVIST]
        while any([await store.projections.position(name) < head for name in followers]):
            if time.monotonic() > deadline or not self.projector.running():
                return False
            await asyncio.sleep(0.2)
        followed = await _tables(store)
        self.projector.stop()
        for name in runner.projections:
            await runner.rebuild(name)
        return followed == await _tables(store)

    async def _report(
        self,
        store: EventStore,
        plan: Sequence[Fault],
        clients: Delegations,
        failures: list[str],
        not_completed: int,
        equal: bool,
        duration: float,
    ) -> Report:
        problems = list(failures)
        logged = [event async for event in store.read_log()]
        positions = [e.position for e in logged]
        gaps = len(set(range(1, len(positions) + 1)) ^ set(positions))
        mine = {e.event_id: e for e in logged if e.decision_id in set(self.decision_ids)}
        named = [i for s in clients.sent for i in s.receipt.get("event_ids", ())]
        receipts_lost = sum(1 for s in clients.sent if not s.receipt)
        events_lost = len(set(named) - set(mine))
        unreceipted = len(set(mine) - set(named))
        duplicates = len(named) - len(set(named))
        unarchived = 0
        for decision_id in self.decision_ids:
            stream = sorted(
                (e for e in mine.values() if e.decision_id == decision_id),
                key=lambda e: e.stream_version,
            )
            if [e.stream_version for e in stream] != list(range(1, len(stream) + 1)):
                problems.append(f"{decision_id}: stream versions are not 1..{len(stream)}")
            answers = Counter((e.type, e.actor) for e in stream)
            duplicates += sum(n - 1 for n in answers.values() if n > 1)
            if not await store.archive.histories(decision_id):
                unarchived += 1
        verified = (await verify_log(store)).ok
        members = {code for roster in NRC_ROSTERS.rosters for code in roster.member_codes}
        notable_events = {
            (e.decision_id, e.stream_version)
            for e in mine.values()
            if notable(domain_event(e), members)
        }
        told = _told(self.projector.log)
        mistold = {key for key in told if key[0] in self.decision_ids} - notable_events
        if mistold:
            problems.append(f"told of {len(mistold)} events that are not notable")
        took = sorted(clients.sent, key=lambda s: s.ended - s.started)
        seconds = [s.ended - s.started for s in took]
        slowest = [
            f"{s.path.rsplit('/', 1)[-1]} by {s.who} at {s.started - self.t0:.1f} s: "
            f"{s.ended - s.started:.1f} s, answers {s.answers}"
            for s in reversed(took[-5:])
        ]
        answers_seen = Counter(str(a) for s in clients.sent for a in s.answers)
        report = Report(
            decisions=self.count,
            members_per_round=len(NRC_ROSTERS.latest.member_codes),
            commands=len(clients.sent),
            events=len(mine),
            faults=dict(Counter(f.kind for f in plan)),
            faults_at=self.faults_at,
            receipts_lost=receipts_lost,
            events_lost=events_lost,
            duplicates=duplicates,
            unreceipted=unreceipted,
            not_completed=not_completed,
            unarchived=unarchived,
            position_gaps=gaps,
            chain_verified=verified,
            read_models_equal_rebuild=equal,
            notifications=len(notable_events),
            notifications_lost=len(notable_events - set(told)),
            notifications_told_again=sum(told[key] - 1 for key in notable_events if told[key]),
            answers=dict(sorted(answers_seen.items())),
            retried_commands=sum(1 for s in clients.sent if len(s.answers) > 1),
            command_p50_s=round(seconds[len(seconds) // 2], 2) if seconds else 0.0,
            command_p99_s=round(seconds[int(len(seconds) * 0.99)], 2) if seconds else 0.0,
            worst_command_s=round(seconds[-1], 2) if seconds else 0.0,
            slowest=slowest,
            cli_while_restarting=dict(
                sorted(Counter(f"exit {p.exit_code}" for p in self.probes).items())
            ),
            cli_slowest_s=round(max((p.seconds for p in self.probes), default=0.0), 1),
            duration_s=round(duration, 1),
            seed=self.seed,
            problems=problems,
        )
        for name in (
            "receipts_lost",
            "events_lost",
            "duplicates",
            "unreceipted",
            "not_completed",
            "unarchived",
            "position_gaps",
            "notifications_lost",
        ):
            if getattr(report, name):
                problems.append(f"{getattr(report, name)} {name}")
        if not verified:
            problems.append("the chain does not verify")
        if not equal:
            problems.append("the read models differ from a rebuild from zero")
        if len(self.faults_at) != len(plan):
            problems.append(f"only {len(self.faults_at)} of {len(plan)} faults carried out")
        problems.extend(problem for p in self.probes if (problem := p.problem()))
        if not self.probes:
            problems.append("no CLI run while the servers restarted")
        if any(share >= 0.99 for share in self.shares):
            problems.append(f"faults came after the traffic: {self.faults_at}")
        return report


async def _issued(tokens: Tokens) -> dict[str, str]:
    """A token for every member of every roster version, the secretariat and an auditor."""
    members = {code for roster in NRC_ROSTERS.rosters for code in roster.member_codes}
    keys = {
        code: (await tokens.issue(Role.MEMBER, code, "operator:faults")).token
        for code in sorted(members)
    }
    keys[OPERATOR] = (await tokens.issue(Role.OPERATOR, "secretariat", "operator:faults")).token
    keys["auditor"] = (await tokens.issue(Role.AUDITOR, "faults", "operator:faults")).token
    return keys


def _told(log: Path) -> Counter[tuple[str, int]]:
    """How many times the projector's log tells of each event (decision, stream version)."""
    told: Counter[tuple[str, int]] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if '"notification"' not in line:
            continue
        try:
            said = json.loads(line)
        except ValueError:
            continue
        if said.get("event") == "notification":
            told[(said["decision_id"], said["stream_version"])] += 1
    return told


async def _tables(store: EventStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the decisions read models, in a stable order."""
    tables = DecisionsProjection.tables
    rows = await store.tables.rows_each(
        *(select(t).order_by(*t.primary_key.columns) for t in tables)
    )
    return {t.name: [tuple(r) for r in found] for t, found in zip(tables, rows, strict=True)}


async def one_run(decisions: int, seed: int, kills: int = 4) -> Report:
    workdir = Path(tempfile.mkdtemp(prefix="concord-api-faults-"))
    async with migrated_store("postgres", workdir, "faults_api") as url:
        report = await ThroughApi(workdir, url, decisions, seed).run(random_plan(seed, kills))
    if report.ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        report.problems.append(f"logs kept in {workdir}")
    return report


def write(report: Report, command: str) -> None:
    """The figures into their section of docs/reliability.md, by the benchmarks' own writer."""
    sys.path.insert(0, str(DOC.parents[1] / "benchmarks"))
    from sections import machine, replace_section  # the benchmarks' folder is no package

    rows = [
        ("decisions, each to completion", report.decisions),
        ("members answering each round", report.members_per_round),
        ("commands sent through the API", report.commands),
        ("events in the log", report.events),
        ("faults injected", ", ".join(f"{k} {v}" for k, v in report.faults.items())),
        (
            "faults at (share of commands answered, seconds into the run)",
            "; ".join(report.faults_at),
        ),
        ("receipts lost", report.receipts_lost),
        ("events lost", report.events_lost),
        ("duplicates", report.duplicates),
        ("events no receipt names", report.unreceipted),
        ("gaps in log positions", report.position_gaps),
        ("chain verified", report.chain_verified),
        ("read models equal a rebuild from zero", report.read_models_equal_rebuild),
        (
            "notable events told by the projector: lost, told again",
            f"{report.notifications}: {report.notifications_lost}, "
            f"{report.notifications_told_again}",
        ),
        ("commands sent more than once (same key)", report.retried_commands),
        (
            "`concord list` / `status` while a server restarted: exits, slowest",
            f"{report.cli_while_restarting}, {report.cli_slowest_s} s",
        ),
        ("answers seen (HTTP status: count; 0 = no answer)", report.answers),
        (
            "command, first send to receipt: p50 / p99 / longest",
            f"{report.command_p50_s} / {report.command_p99_s} / {report.worst_command_s} s",
        ),
        ("run", f"{report.duration_s} s"),
    ]
    lines = [
        f"Command: `{command}` (seed {report.seed}), {time.strftime('%Y-%m-%d %H:%M UTC')}, "
        f"{machine()}.",
        "",
        "| figure | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
    ]
    replace_section("through-api", lines, DOC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--write", action="store_true", help="write the figures to the docs")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    report = asyncio.run(one_run(args.decisions, seed, args.kills))
    print(json.dumps({"ok": report.ok, **asdict(report)}, indent=1), flush=True)
    if args.write and report.ok:
        write(report, " ".join(["python -m tests.faults.through_api", *sys.argv[1:]]))
    raise SystemExit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
