"""Scale: the read models at 10,000 decisions and 1,000,000 events, asked what `concord list` and
`concord pending --member` (and the API's same routes) ask.

Builds a store, or reuses the one a previous run built when it holds exactly the events asked
for (the build is deterministic: it says which it did): decisions decided by the domain
(`domain.decider` through the tests' Scenario driver) in a realistic mix of end states (proposed,
in review, rounds open and partly answered, adopted, in implementation with action items,
progress reports and issues under resolution, suspended, completed, superseded, withdrawn,
lapsed), a hundred at a time with their phases interleaved in the log, the sittings of the
Preparatory Committee and the Ambassadors among them, appended through `EventStore.append`; then
the projector builds the read models (timed when it has work to do). Then it times each query of
`store.queries` over many repetitions (p50, p95, max) and prints its plan (SQLite's `EXPLAIN
QUERY PLAN`, PostgreSQL's `EXPLAIN`), and writes the figures to docs/benchmarks.md between its
markers. Run by hand:
    .venv/bin/python benchmarks/scale.py --backend sqlite
    .venv/bin/python benchmarks/scale.py --backend postgres
    .venv/bin/python benchmarks/scale.py --smoke        # seconds; what the suite runs
The SQLite file stays in var/bench/, the PostgreSQL database `concord_scale_<decisions>_<events>`
on --server, for the next run to reuse (`--fresh` builds them again).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import asyncpg
from sqlalchemy import Select, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))

from sections import DOC, machine, replace_section, store_and_size_options
from store_bench import database

from domain.agenda import AgendaItem, meeting_id
from domain.areas import Area
from domain.council_events import SittingConvened, SittingKind, SittingRecorded
from domain.nrc import NRC_ROSTERS
from domain.roster import CHAIR
from domain.values import AgendaItemKind
from store.council_events import new_council_event
from store.decision_events import new_event
from store.engine import create_store_engine
from store.eventstore import EventStore, open_store
from store.migrate import upgrade
from store.projections import ProjectionRunner
from store.queries import (
    decisions_query,
    list_decisions,
    pending_for_member,
    pending_query,
    recorded_sittings,
    sittings_query,
)
from store.read_models import DecisionsProjection
from store.records import NewEvent
from store.schema import decisions as overview
from tests.unit.domain.scenario import Scenario

ROOT = Path(__file__).parents[1]
SECTION = "scale benchmark"
BEGIN = f"<!-- {SECTION} -->"
TITLE = "Scale: the read models at 10,000 decisions and 1,000,000 events"
BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
TARGET_MS: Final = 50.0

MEMBERS = NRC_ROSTERS.latest.member_codes
AREAS = [area for area in Area if area is not Area.OTHER]
T0 = datetime(2004, 12, 9, 9, 0, tzinfo=UTC)
SPAN = timedelta(days=14 * 365)
"""The decisions are proposed one after the other over fourteen years."""
WAVE = 100
"""Decisions under way side by side: their phases are interleaved in the log."""
BATCH = 500
"""The most events one append takes."""
SITTINGS = (("PC", 14), ("NRC-AMB", 30))
"""The bodies that sit in the log, every so many days."""

FATES: Final = {
    "proposed": 2,
    "in_review": 3,
    "under_consensus": 6,
    "adopted": 2,
    "in_implementation": 10,
    "suspended": 1,
    "completed": 50,
    "superseded": 8,
    "withdrawn": 6,
    "lapsed": 12,
}
"""Where the decisions end, in percent: most closed, as in a long-lived council."""
REPORTED = frozenset({"in_implementation", "completed", "superseded"})
"""The fates whose progress reports fill the log up to its size."""


# --- the log ------------------------------------------------------------------------------------


def decision_life(
    decision_id: str, start: datetime, fate: str, reports: Callable[[int], int], rng: random.Random
) -> list[list[Any]]:
    """A decision's events decided by the domain, cut into the phases the log interleaves with
    other decisions'; `reports` says how many progress reports to add, given the events so far."""
    s = Scenario(decision_id, now=start)
    phases: list[int] = []
    proposer = rng.choice(MEMBERS)
    area = rng.choice(AREAS)
    s.proposed(
        proposer,
        title=f"{area.value.replace('_', ' ').capitalize()}: measure {decision_id[2:]}",
        area=area.value,
        text=f"The Council agrees on measure {decision_id[2:]} in {area.value}.",
    )
    if fate != "proposed":
        s.advance(days=rng.uniform(1, 10))
        s.do("refer", CHAIR)
        phases.append(len(s.events))
        if fate == "withdrawn" and rng.random() < 0.5:
            s.do("withdraw", proposer, reason="Overtaken by events")
        elif fate != "in_review":
            _consensus(s, fate, proposer, rng, phases)
            if s.s.status.value == "adopted" and fate != "adopted":
                _implementation(s, fate, reports, rng, phases)
    phases.append(len(s.events))
    return [s.events[a:b] for a, b in zip([0, *phases], phases, strict=False) if b > a]


def _consensus(
    s: Scenario, fate: str, proposer: str, rng: random.Random, phases: list[int]
) -> None:
    s.advance(days=rng.uniform(3, 14))
    s.do("complete_review", CHAIR, outcome="forward")
    failures = 3 if fate == "lapsed" else int(rng.random() < 0.25)
    for failure in range(failures):
        _round(s, rng, answered=rng.randint(1, len(MEMBERS) - 1), objection=True)
        s.do("close_round", CHAIR, round=s.s.rounds[-1].number)
        phases.append(len(s.events))
        if s.s.status.value == "in_review":
            s.advance(days=rng.uniform(7, 21))
            text = f"Revision {failure + 2} of the measure, after the objections."
            s.do("complete_review", CHAIR, outcome="amend", text=text)
    if fate == "lapsed":
        return
    if fate == "withdrawn":
        s.do("withdraw", proposer, reason="No consensus in sight")
        return
    if fate == "under_consensus" or (fate == "suspended" and rng.random() < 0.5):
        _round(s, rng, answered=rng.randrange(len(MEMBERS)), objection=rng.random() < 0.15)
        if fate == "suspended":
            s.do("suspend", CHAIR, reason="Consultations in capitals")
        return
    if rng.random() < 0.5:
        _round(s, rng, answered=len(MEMBERS), objection=False)
    else:
        _round(s, rng, answered=rng.randrange(len(MEMBERS) // 2, len(MEMBERS)), objection=False)
        s.advance(days=15)
        s.do("close_round", CHAIR, round=s.s.rounds[-1].number)
    phases.append(len(s.events))


def _round(s: Scenario, rng: random.Random, *, answered: int, objection: bool) -> None:
    s.advance(days=rng.uniform(1, 7))
    s.do("open_round", CHAIR, deadline=s.later(days=14))
    r = s.s.rounds[-1]
    answering = rng.sample(r.members, answered)
    if objection and answering:
        objector = answering.pop()
        s.do("break_silence", objector, round=r.number, text_hash=r.text_hash, reasons="Unclear")
    for member in answering:
        s.advance(minutes=rng.uniform(5, 600))
        s.do("concur", member, round=r.number, text_hash=r.text_hash)


def _implementation(
    s: Scenario,
    fate: str,
    reports: Callable[[int], int],
    rng: random.Random,
    phases: list[int],
) -> None:
    items: list[dict[str, Any]] = [
        {
            "item_id": f"A{number}",
            "description": f"Measures taken by {member}",
            "assignee": {"kind": "member", "code": member},
            "due": s.later(days=rng.randrange(60, 400)) if rng.random() < 0.5 else None,
        }
        for number, member in enumerate(rng.sample(MEMBERS, rng.randint(1, 3)), start=1)
    ]
    if rng.random() < 0.6:
        items.append(
            {
                "item_id": f"A{len(items) + 1}",
                "description": "Joint assessment",
                "assignee": {"kind": "all_members"},
            }
        )
    if rng.random() < 0.5:
        items.append(
            {
                "item_id": f"A{len(items) + 1}",
                "description": "Monitor implementation",
                "assignee": {"kind": "body", "code": "PC"},
            }
        )
    s.advance(days=rng.uniform(7, 30))
    s.do(
        "plan_implementation",
        CHAIR,
        action_items=items,
        report_back_deadline=s.later(days=365),
    )
    phases.append(len(s.events))
    if fate == "in_implementation":
        for item in items:
            if rng.random() < 0.3:
                s.do("complete_action_item", CHAIR, item_id=item["item_id"])
        if rng.random() < 0.2:
            s.do("raise_issue", rng.choice(MEMBERS), title="Uneven reporting", description="")
            issue = s.s.issues[-1].number
            text = "The members report every quarter."
            s.do(
                "propose_issue_resolution", CHAIR, issue=issue, text=text, deadline=s.later(days=14)
            )
            r = s.s.rounds[-1]
            for member in rng.sample(r.members, rng.randrange(len(r.members))):
                s.do("concur", member, round=r.number, text_hash=r.text_hash)
        phases.append(len(s.events))
    count = reports(len(s.events)) if fate in REPORTED else rng.randrange(20)
    topics: list[dict[str, Any] | None] = [None, *items]
    for number in range(count):
        s.advance(hours=rng.uniform(1, 48))
        topic = rng.choice(topics)
        if topic is None or topic["assignee"]["kind"] == "body":
            s.do("report_progress", rng.choice(MEMBERS), summary="National measures under way")
        else:
            member = topic["assignee"].get("code") or rng.choice(MEMBERS)
            s.do("report_progress", member, item_id=topic["item_id"], summary="Part done")
        if number % 40 == 39:
            phases.append(len(s.events))
    if fate in ("completed", "superseded"):
        done = s.s.plan.completed_items if s.s.plan else ()
        for item in items:
            if item["item_id"] not in done:
                s.do("complete_action_item", CHAIR, item_id=item["item_id"])
        if fate == "completed":
            s.do("complete", CHAIR, summary="Implemented")
        else:
            successor = f"d-{int(s.decision_id[2:]) + rng.randint(1, 200):05d}"
            s.do("supersede", CHAIR, superseded_by=successor, reason="A newer plan")
    elif fate == "suspended":
        s.do("suspend", CHAIR, reason="Consultations in capitals")


def sittings(start: datetime, end: datetime, decision_ids: Sequence[str]) -> list[list[NewEvent]]:
    """The regular sittings of the bodies that sit in [start, end): convened, then recorded."""
    kept = []
    for body, days in SITTINGS:
        first = -(-(start - T0).days // days)
        for number in range(first, (end - T0).days // days + 1):
            at = T0 + timedelta(days=number * days, hours=1)
            if not start <= at < end:
                continue
            stream = meeting_id(body, at)
            agenda = tuple(
                AgendaItem(decision_id=d, item=AgendaItemKind.ROUND_CLOSING, detail="Round ends")
                for d in decision_ids[number % 7 :: 25]
            )
            envelope: dict[str, Any] = {
                "stream_id": stream,
                "actor": CHAIR,
                "recorded_by": "system:meetings",
            }
            convened = SittingConvened(
                **envelope,
                stream_version=1,
                occurred_at=at,
                body=body,
                sitting_at=at,
                kind=SittingKind.REGULAR,
                agenda=agenda,
            )
            recorded = SittingRecorded(
                **envelope, stream_version=2, occurred_at=at + timedelta(hours=3), present=MEMBERS
            )
            kept.append([new_council_event(convened), new_council_event(recorded)])
    return kept


@dataclass
class Budget:
    """Fills the log to exactly `events`: progress reports take up what the lives leave."""

    decisions: int
    events: int
    sittings: int
    produced: int = 0
    base: int = 0
    lives: int = 0

    def reports(self, number: int, rng: random.Random) -> Callable[[int], int]:
        """How many progress reports decision `number` takes, given its events so far (the last
        decision takes exactly what is left)."""
        remaining = self.decisions - number
        if number == self.decisions - 1:
            return lambda so_far: max(0, self.events - self.sittings - self.produced - so_far)
        mean = self.base / self.lives if self.lives else 40
        reported = remaining * sum(FATES[f] for f in REPORTED) / 100
        slack = self.events - self.sittings - self.produced - mean * remaining
        share = max(0.0, slack / max(reported, 1.0))
        spread = rng.uniform(0.3, 1.7) if remaining > 200 else 1.0
        return lambda so_far: round(share * spread)


def waves(
    decisions: int, events: int, seed: int = 2002
) -> Iterator[list[tuple[str, int, list[NewEvent]]]]:
    """The log's appends, wave after wave: (stream, expected version, records) in log order."""
    rng = random.Random(seed)
    fates, weights = list(FATES), list(FATES.values())
    end_of = [T0 + SPAN * number / decisions for number in range(decisions + 1)]
    total_sittings = 2 * len(sittings(T0, end_of[-1] + timedelta(days=1), []))
    budget = Budget(decisions, events, total_sittings)
    for first in range(0, decisions, WAVE):
        numbers = range(first, min(first + WAVE, decisions))
        lives = []
        for number in numbers:
            fate = (
                "in_implementation" if number == decisions - 1 else rng.choices(fates, weights)[0]
            )
            reports = budget.reports(number, rng)
            phases = decision_life(f"d-{number:05d}", end_of[number], fate, reports, rng)
            size = sum(len(phase) for phase in phases)
            budget.produced += size
            budget.lives += 1
            extra = sum(1 for phase in phases for e in phase if e.type == "ProgressReported")
            budget.base += size - (extra if fate in REPORTED else 0)
            lives.append([[new_event(e) for e in phase] for phase in phases])
        stop = (
            end_of[numbers[-1] + 1]
            if numbers[-1] + 1 < decisions
            else end_of[-1] + timedelta(days=1)
        )
        ids = [f"d-{number:05d}" for number in numbers]
        appends: list[tuple[str, int, list[NewEvent]]] = []
        versions = dict.fromkeys(ids, 0)
        for depth in range(max(len(life) for life in lives)):
            for decision_id, life in zip(ids, lives, strict=True):
                if depth < len(life):
                    appends.append((decision_id, versions[decision_id], life[depth]))
                    versions[decision_id] += len(life[depth])
        for kept in sittings(end_of[first], stop, ids):
            appends.append((kept[0].decision_id, 0, kept))
        yield appends


async def build(store: EventStore, decisions: int, events: int) -> None:
    """Append the whole log through the store's append, wave after wave."""
    started = time.perf_counter()
    appended = 0
    for number, appends in enumerate(waves(decisions, events)):
        for stream, expected, records in appends:
            for offset in range(0, len(records), BATCH):
                await store.append(stream, expected + offset, records[offset : offset + BATCH])
            appended += len(records)
        if number % 10 == 9:
            rate = appended / (time.perf_counter() - started)
            print(f"  {appended:>9,} events appended ({rate:,.0f} events/s)", flush=True)
    position, _ = await store.head()
    print(f"built {position:,} events in {time.perf_counter() - started:.0f} s", flush=True)


# --- where the store lives ----------------------------------------------------------------------


@asynccontextmanager
async def kept_store(arguments: argparse.Namespace) -> AsyncIterator[str]:
    """The URL of the store to measure: kept for the next run, or thrown away (smoke)."""
    if arguments.smoke:
        async with database(arguments.backend, arguments.server) as url:
            yield url
        return
    name = f"scale-{arguments.decisions}-{arguments.events}"
    if arguments.backend == "sqlite":
        path = ROOT / "var" / "bench" / f"{name}.db"
        if arguments.fresh:
            for stale in path.parent.glob(f"{name}.db*"):
                stale.unlink()
        yield f"sqlite+aiosqlite:///{path}"
        return
    server = make_url(arguments.server)
    dsn = server.set(drivername="postgresql").render_as_string(hide_password=False)
    database_name = name.replace("-", "_").replace("scale", "concord_scale")
    connection = await asyncpg.connect(dsn)
    try:
        if arguments.fresh:
            await connection.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
        found = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", database_name
        )
        if not found:
            await connection.execute(f'CREATE DATABASE "{database_name}"')
    finally:
        await connection.close()
    yield server.set(database=database_name).render_as_string(hide_password=False)


async def ready_store(url: str, decisions: int, events: int) -> EventStore:
    """The store at `url` holding the log asked for, built unless it already holds it, its
    read models caught up."""
    await upgrade(url)
    store = await open_store(url)
    position, _ = await store.head()
    if position == events:
        print(f"reusing the store at {_shown(url)}: {position:,} events already there", flush=True)
    elif position == 0:
        print(
            f"building {decisions:,} decisions and {events:,} events at {_shown(url)}", flush=True
        )
        await build(store, decisions, events)
    else:
        await store.close()
        raise SystemExit(
            f"{_shown(url)} holds {position:,} events, not {events:,}: run again with --fresh"
        )
    runner = ProjectionRunner(store, [DecisionsProjection()])
    started = time.perf_counter()
    applied = await runner.catch_up()
    if applied:
        seconds = time.perf_counter() - started
        print(
            f"read models built from {applied:,} events in {seconds:.0f} s "
            f"({applied / seconds:,.0f} events/s)",
            flush=True,
        )
    if url.startswith("postgresql"):
        await _analyze(url)
    [(count,)] = await store.tables.rows(select(func.count()).select_from(overview))
    if count != decisions:
        print(f"warning: the read model holds {count:,} decisions, not {decisions:,}")
    return store


async def _analyze(url: str) -> None:
    # What autovacuum does after bulk loads; run here so that the plans do not depend on when
    # it last woke up.
    engine = create_store_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- the questions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One question as the CLI and the API ask it, and the SQL it runs."""

    label: str
    ask: Callable[[], Awaitable[Sequence[object]]]
    queries: Sequence[Select[Any]]
    target: bool = True


async def cases(store: EventStore) -> list[Case]:
    position, _ = await store.head()
    middle = position // 2
    area = AREAS[3].value
    member, small = "RUS", "ISL"

    def listing(label: str, target: bool = True, **filters: Any) -> Case:
        return Case(
            label,
            lambda: list_decisions(store, **filters),
            [decisions_query(**filters)],
            target,
        )

    def pending(who: str) -> Case:
        return Case(
            f"pending --member {who}",
            lambda: pending_for_member(store, who),
            [pending_query(who)],
        )

    month = T0 + SPAN / 2
    return [
        listing("list, limit 50", limit=50),
        listing("list --state under_consensus, limit 50", state="under_consensus", limit=50),
        listing("list --state completed, limit 50", state="completed", limit=50),
        listing(f"list --area {area}, limit 50", area=area, limit=50),
        listing(f"list --member {member}, limit 50", member=member, limit=50),
        listing(f"list --member {small}, limit 50", member=small, limit=50),
        listing("list, page before the log's middle, limit 50", before_position=middle, limit=50),
        listing(
            "list --state completed, page before the middle, limit 50",
            state="completed",
            before_position=middle,
            limit=50,
        ),
        listing(
            f"list --member {member}, page before the middle, limit 50",
            member=member,
            before_position=middle,
            limit=50,
        ),
        listing("list --state under_consensus (CLI: every row)", False, state="under_consensus"),
        listing(f"list --member {member} (CLI: every row)", False, member=member),
        pending(member),
        pending("USA"),
        pending(small),
        Case(
            "sittings of one month (not a read model: every sitting convened is parsed)",
            lambda: recorded_sittings(store, month, month + timedelta(days=31)),
            [sittings_query()],
            target=False,
        ),
    ]


@dataclass(frozen=True)
class Timing:
    label: str
    rows: int
    p50: float
    p95: float
    worst: float
    target: bool

    def line(self) -> str:
        return (
            f"| {self.label} | {self.rows:,} | {self.p50:.2f} | {self.p95:.2f} | {self.worst:.2f} |"
        )


async def timed(case: Case, repeat: int) -> Timing:
    for _ in range(3):
        rows = await case.ask()
    spent = []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = await case.ask()
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    p95 = spent[min(len(spent) - 1, round(0.95 * (len(spent) - 1)))]
    return Timing(case.label, len(rows), statistics.median(spent), p95, spent[-1], case.target)


async def plans(url: str, queries: Sequence[Select[Any]]) -> list[str]:
    """Each query's plan as the database gives it, one line a node."""
    engine = create_store_engine(url)
    lines: list[str] = []
    try:
        async with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            for query in queries:
                sql = str(
                    query.compile(
                        dialect=connection.dialect, compile_kwargs={"literal_binds": True}
                    )
                )
                explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
                rows = (await connection.execute(text(explain + sql))).all()
                if sqlite:
                    depth: dict[int, int] = {0: 0}
                    for node, parent, _, detail in rows:
                        depth[node] = depth.get(parent, 0) + 1
                        lines.append("  " * depth[node] + str(detail))
                else:
                    lines.extend(f"  {row[0]}" for row in rows)
                lines.append("")
    finally:
        await engine.dispose()
    return lines


# --- the run ------------------------------------------------------------------------------------


async def bench(arguments: argparse.Namespace) -> tuple[list[Timing], list[str]]:
    async with kept_store(arguments) as url:
        store = await ready_store(url, arguments.decisions, arguments.events)
        try:
            timings: list[Timing] = []
            explained: list[str] = []
            for case in await cases(store):
                timing = await timed(case, arguments.repeat)
                timings.append(timing)
                print(
                    f"{case.label}: {timing.rows:,} rows, p50 {timing.p50:.2f} ms, "
                    f"p95 {timing.p95:.2f} ms, max {timing.worst:.2f} ms",
                    flush=True,
                )
                explained += [f"{case.label}:", *await plans(url, case.queries)]
        finally:
            await store.close()
    return timings, explained


def table(timings: Sequence[Timing]) -> list[str]:
    return [
        "| question | rows | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|",
        *(timing.line() for timing in timings),
    ]


def write(arguments: argparse.Namespace, lines: list[str], explained: list[str]) -> None:
    """Put this backend's figures and plans in its part of the section, leaving the other's."""
    if BEGIN not in DOC.read_text(encoding="utf-8"):
        replace_section(
            SECTION,
            [f"## {TITLE}", *(f"\n<!-- scale: {b} -->\n<!-- /scale: {b} -->" for b in BACKENDS)],
        )
    command = f"python benchmarks/scale.py {' '.join(sys.argv[1:])}".strip()
    replace_section(
        f"scale: {arguments.backend}",
        [
            f"### {BACKENDS[arguments.backend]}",
            "",
            f"`{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({machine()}): "
            f"{arguments.decisions:,} decisions, {arguments.events:,} events; each question "
            f"{arguments.repeat} times after 3 unmeasured.",
            "",
            *lines,
            "",
            "<details><summary>Query plans</summary>",
            "",
            "```",
            *explained,
            "```",
            "</details>",
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    store_and_size_options(parser)
    parser.add_argument("--decisions", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=200, help="timed runs of each question")
    parser.add_argument("--fresh", action="store_true", help="build the store again")
    arguments = parser.parse_args(argv)
    if arguments.smoke:
        arguments.decisions, arguments.events, arguments.repeat = 120, 9_000, 5
        arguments.no_write = True
    timings, explained = asyncio.run(bench(arguments))
    lines = table(timings)
    print("\n".join(lines))
    print("\n".join(explained))
    missed = [t.label for t in timings if t.target and t.p95 > TARGET_MS]
    print(f"target p95 <= {TARGET_MS:.0f} ms: " + (f"missed by {missed}" if missed else "met"))
    if not arguments.no_write:
        write(arguments, lines, explained)
    return 0


if __name__ == "__main__":
    sys.exit(main())
