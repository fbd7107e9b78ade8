"""API benchmark: member actions through the HTTP API against the same actions through the decision
client, in the production shape: one dev server, and the worker, the projector and the API each a
process of its own (`worker.py`, `concord project`, `concord api`); the benchmark is only their
caller, its HTTP client and its decision client beside each other in one process.

  (a) throughput: D decisions with a round open, N delegations (each with its own token) concur
      in every one on N concurrent callers, through the API and through the decision client,
      alternating, `--runs` times; actions/s, p50/p95, and the CPU the dev server, the worker
      and the API spent per action;
  (b) all at once: D decisions, every member of the roster (27) answering each through the API
      at the same instant (540 answers for 20 decisions); the statuses (no 5xx), p50/p95.

Run by hand (not a test):
    .venv/bin/python benchmarks/api_bench.py --delegations 20 --decisions 20
    .venv/bin/python benchmarks/api_bench.py --backend postgres --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from lifecycle import Proc, free_port, process, served
from sections import machine, replace_section, store_and_size_options
from temporalio.api.enums.v1 import EventType

from domain.commands import command_of
from domain.nrc import NRC_ROSTERS
from runtime.access import Role, Tokens
from runtime.decisions import DecisionClient
from runtime.temporal import connect
from store.eventstore import open_store

QUEUE = "bench-api"


class Connection:
    """One keep-alive HTTP/1.1 connection to the API, opened when first used: a caller that
    costs a small part of what the server spends on a request, so that the API is measured and
    not its caller (httpx, with 540 connections in one pool, spent 7.4 s of this machine's CPU
    on sending 540 answers, which the API served in 1.8 s)."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, path: str, token: str, body: dict[str, object]) -> tuple[int, bytes]:
        """The status and body of the API's answer to a POST of `body` as JSON."""
        if self._streams is None:
            self._streams = await asyncio.open_connection("127.0.0.1", self._port)
        reader, writer = self._streams
        payload = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self._port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        writer.write(head.encode() + payload)
        answer = await reader.readuntil(b"\r\n\r\n")
        status_line, *headers = answer.decode("latin-1").split("\r\n")
        length = next(
            (
                int(v)
                for n, _, v in (h.partition(":") for h in headers)
                if n.lower() == "content-length"
            ),
            0,
        )
        return int(status_line.split(" ", 2)[1]), await reader.readexactly(length)

    async def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            await self._streams[1].wait_closed()


Action = Callable[[Connection], Awaitable[int]]
"""One member action on its caller's connection (unused by the decision client); the HTTP
status it got (201 through the decision client)."""


@dataclass
class Stack:
    decisions: DecisionClient
    api_port: int
    tokens: dict[str, str]
    server: Proc
    worker: Proc
    api: Proc


@dataclass
class Measured:
    path: str
    latencies: list[float]
    statuses: collections.Counter[int]
    seconds: float
    cpu: dict[str, float]
    workflow_tasks: int

    def row(self) -> str:
        cuts = statistics.quantiles(self.latencies, n=20)
        count = len(self.latencies)
        per_action = " | ".join(f"{self.cpu[name] / count * 1000:.2f}" for name in CPU_OF)
        return (
            f"| {self.path} | {count} | {count / self.seconds:,.1f} | "
            f"{statistics.median(self.latencies) * 1000:.1f} | {cuts[18] * 1000:.1f} | "
            f"{sum(n for s, n in self.statuses.items() if s >= 500)} | {per_action} | "
            f"{self.workflow_tasks / count:.2f} |"
        )


CPU_OF = ("server", "worker", "api", "caller")
HEADER = (
    "| path | actions | actions/s | p50 ms | p95 ms | 5xx | server CPU ms/action "
    "| worker CPU ms/action | API CPU ms/action | caller CPU ms/action | workflow tasks/action |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
)
"""The caller is this process: its HTTP connections, or the decision client the API would run."""


def api_concurrence(token: str, decision: str, number: int, text_hash: str) -> Action:
    async def act(connection: Connection) -> int:
        status, body = await connection.post(
            f"/decisions/{decision}/concurrences", token, {"round": number, "text_hash": text_hash}
        )
        if status != 201 and status < 500:
            raise RuntimeError(f"{status}: {body.decode()}")
        return status

    return act


def client_concurrence(
    decisions: DecisionClient, member: str, decision: str, number: int, text_hash: str
) -> Action:
    async def act(connection: Connection) -> int:
        await decisions.execute(
            command_of("concur", decision, member, round=number, text_hash=text_hash)
        )
        return 201

    return act


async def workflow_tasks(decisions: DecisionClient, decision_ids: Sequence[str]) -> int:
    """The workflow tasks the decisions' runs have completed: how finely Temporal and the
    worker took their updates (a task takes every update that has arrived)."""
    completed = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    histories = [await decisions.handle(d).fetch_history() for d in decision_ids]
    return sum(
        1 for history in histories for event in history.events if event.event_type == completed
    )


async def measure(
    path: str, s: Stack, actions: Sequence[Action], lanes: int, decision_ids: Sequence[str]
) -> Measured:
    """Run `actions` on `lanes` concurrent callers (all at once when lanes is their number)."""
    queue = list(actions)
    latencies: list[float] = []
    statuses: collections.Counter[int] = collections.Counter()

    async def lane() -> None:
        connection = Connection(s.api_port)
        try:
            while queue:
                action = queue.pop()
                started = time.perf_counter()
                statuses[await action(connection)] += 1
                latencies.append(time.perf_counter() - started)
        finally:
            await connection.close()

    tasks_before = await workflow_tasks(s.decisions, decision_ids)
    processes = {"server": s.server, "worker": s.worker, "api": s.api, "caller": Proc(os.getpid())}
    before = {name: p.cpu() for name, p in processes.items()}
    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(lanes)))
    seconds = time.perf_counter() - started
    cpu = {name: p.cpu() - before[name] for name, p in processes.items()}
    tasks = await workflow_tasks(s.decisions, decision_ids) - tasks_before
    measured = Measured(path, latencies, statuses, seconds, cpu, tasks)
    print(measured.row(), flush=True)
    return measured


async def open_rounds(
    decisions: DecisionClient, count: int, prefix: str
) -> list[tuple[str, int, str]]:
    """`count` new decisions, each with a round open: (decision, round, text hash)."""
    opened = []
    batch = uuid.uuid4().hex[:6]
    for number in range(count):
        decision_id = f"d-{prefix}-{batch}-{number}"
        await decisions.propose(
            command_of(
                "submit_proposal",
                decision_id,
                "POL",
                title="Benchmark",
                text=f"Text {number}",
                area="crisis_management",
            )  # type: ignore[arg-type]
        )
        for kind, fields in (
            ("refer", {}),
            ("complete_review", {"outcome": "forward"}),
            ("open_round", {"deadline": "2099-01-01T00:00:00Z"}),
        ):
            await decisions.execute(command_of(kind, decision_id, "chair", **fields))
        state = (await decisions.status(decision_id)).state
        assert state is not None
        opened.append((decision_id, state.rounds[0].number, state.rounds[0].text_hash))
    return opened


@asynccontextmanager
async def stack(backend: str, server_url: str, folder: Path) -> AsyncIterator[Stack]:
    async with served(backend, server_url, folder) as ready:
        store = await open_store(ready.store_url)
        try:
            book = Tokens(store)
            tokens = {
                m: (await book.issue(Role.MEMBER, m, "operator:bench")).token
                for m in NRC_ROSTERS.latest.member_codes
            }
        finally:
            await store.close()
        api_port = free_port()
        env = os.environ | {
            "CONCORD_DATA_DIR": str(folder),
            "CONCORD_TEMPORAL_ADDRESS": ready.address,
            "CONCORD_DATABASE_URL": ready.store_url,
            "CONCORD_TASK_QUEUE": QUEUE,
            "CONCORD_LOG_FORMAT": "json",
            "CONCORD_API_PORT": str(api_port),
        }
        python, concord = sys.executable, str(Path(sys.executable).parent / "concord")
        with ExitStack() as running:
            worker = running.enter_context(
                process([python, "worker.py"], env, folder / "worker.log", "worker running")
            )
            running.enter_context(
                process([concord, "project"], env, folder / "projector.log", "projector")
            )
            api = running.enter_context(
                process([concord, "api"], env, folder / "api.log", "Uvicorn running")
            )
            client = await connect(ready.address, "default")
            yield Stack(DecisionClient(client, QUEUE), api_port, tokens, ready.server, worker, api)


async def bench(arguments: argparse.Namespace) -> list[str]:
    members = NRC_ROSTERS.latest.member_codes
    delegations = members[: arguments.delegations]
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="concord-api-bench-") as folder:
        async with stack(arguments.backend, arguments.server, Path(folder)) as s:
            # Unmeasured: the API's process answers its first requests slower (its routes'
            # code and models used the first time); the decision client and the worker warm
            # up alike, in this process and on the worker.
            warm = await open_rounds(s.decisions, 4, "w")
            warming: list[Action] = [
                api_concurrence(s.tokens[m], d, r, h) for d, r, h in warm[:2] for m in delegations
            ]
            warming += [
                client_concurrence(s.decisions, m, d, r, h)
                for d, r, h in warm[2:]
                for m in delegations
            ]
            await measure("warm-up", s, warming, len(delegations), [d for d, _, _ in warm])
            for _ in range(arguments.runs):  # the two paths alternate
                api = await open_rounds(s.decisions, arguments.decisions, "a")
                through_api = [
                    api_concurrence(s.tokens[m], d, r, h) for d, r, h in api for m in delegations
                ]
                ids = [d for d, _, _ in api]
                rows.append((await measure("API", s, through_api, len(delegations), ids)).row())
                direct = await open_rounds(s.decisions, arguments.decisions, "c")
                through_client = [
                    client_concurrence(s.decisions, m, d, r, h)
                    for d, r, h in direct
                    for m in delegations
                ]
                rows.append(
                    (
                        await measure(
                            "decision client",
                            s,
                            through_client,
                            len(delegations),
                            [d for d, _, _ in direct],
                        )
                    ).row()
                )
            at_once = await open_rounds(s.decisions, arguments.decisions, "o")
            everyone = [
                api_concurrence(s.tokens[m], d, r, h) for d, r, h in at_once for m in members
            ]
            burst = await measure(
                "API, every answer at once",
                s,
                everyone,
                len(everyone),
                [d for d, _, _ in at_once],
            )
            rows.append(burst.row())
            statuses = ", ".join(
                f"{n} answered {code}" for code, n in sorted(burst.statuses.items())
            )
            rows.append("")
            rows.append(f"Statuses of the answers sent at once: {statuses}.")
            print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--delegations", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=20)
    parser.add_argument("--runs", type=int, default=2)
    store_and_size_options(parser)
    arguments = parser.parse_args(argv)
    if arguments.smoke:
        arguments.delegations, arguments.decisions, arguments.runs = 3, 2, 1
    print("\n".join(HEADER), flush=True)
    rows = asyncio.run(bench(arguments))
    command = "python benchmarks/api_bench.py " + " ".join(argv or sys.argv[1:])
    lines = [
        f"`{command.strip()}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({machine()}, "
        f"{arguments.backend}):",
        "",
        *HEADER,
        *rows,
    ]
    if not (arguments.smoke or arguments.no_write):
        replace_section("api benchmark", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
