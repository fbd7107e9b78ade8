"""API benchmark: member actions through the HTTP API (token check, update, append, receipt)
with concurrent delegations, beside the same actions through the decision client (no HTTP) and
a bare Temporal update that runs one activity, all on one dev server in the same run.

Run by hand (not a test), e.g.:
    .venv/bin/python benchmarks/api_bench.py --delegations 20 --decisions 20
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path

import httpx
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from api.main import api_app
from api.server import serving
from domain.commands import command_of
from domain.nrc import NRC_ROSTERS
from runtime.access import Role, Tokens
from runtime.bootstrap import build_worker
from runtime.decisions import MAX_IN_FLIGHT, DecisionClient
from runtime.devserver import port_is_free
from store.eventstore import EventStore, open_store
from store.migrate import upgrade
from workflows.decision import SEARCH_ATTRIBUTES

TEMPORAL = Path(sys.executable).parent / "temporal"
Action = Callable[[], Awaitable[object]]


@activity.defn(name="bench.store")
async def store_one(value: int) -> int:
    return value


@workflow.defn(sandboxed=False)
class BareWorkflow:
    """The bare shape of one member action: an update checked by a validator, one activity."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.update
    async def act(self, member: str) -> int:
        self._seen.add(member)
        return await workflow.execute_activity(
            store_one, len(self._seen), start_to_close_timeout=timedelta(seconds=5)
        )

    @act.validator
    def _check(self, member: str) -> None:
        if member in self._seen:
            raise ValueError(f"{member} has already acted")

    @workflow.signal
    def finish(self) -> None:
        self._done = True


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    while not port_is_free("127.0.0.1", port + 1000):
        port += 1
    return port


async def timed(actions: Sequence[Action], lanes: int) -> list[float]:
    """Run `actions` on `lanes` concurrent callers; each action's latency in seconds."""
    queue = list(actions)
    latencies: list[float] = []

    async def lane() -> None:
        while queue:
            action = queue.pop()
            started = time.perf_counter()
            await action()
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(lane() for _ in range(lanes)))
    return latencies


def summary(name: str, latencies: list[float], elapsed: float) -> str:
    cuts = statistics.quantiles(latencies, n=20)
    return (
        f"| {name} | {len(latencies)} | {len(latencies) / elapsed:,.1f} | "
        f"{statistics.median(latencies) * 1000:.1f} | {cuts[18] * 1000:.1f} |"
    )


def api_concurrence(
    http: httpx.AsyncClient, token: str, decision: str, number: int, text_hash: str
) -> Action:
    async def act() -> None:
        response = await http.post(
            f"/decisions/{decision}/concurrences",
            json={"round": number, "text_hash": text_hash},
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code != 201:
            raise RuntimeError(response.text)

    return act


def client_concurrence(
    decisions: DecisionClient, member: str, decision: str, number: int, text_hash: str
) -> Action:
    async def act() -> None:
        await decisions.execute(
            command_of("concur", decision, member, round=number, text_hash=text_hash)
        )

    return act


def bare_update(
    handle: WorkflowHandle[BareWorkflow, None], member: str, slots: asyncio.Semaphore
) -> Action:
    """At most 10 updates in flight per workflow, as Temporal allows and the decision client
    keeps (`runtime.decisions.MAX_IN_FLIGHT`)."""

    async def act() -> None:
        async with slots:
            await handle.execute_update(BareWorkflow.act, member)

    return act


async def measure(name: str, actions: Sequence[Action], lanes: int) -> str:
    started = time.perf_counter()
    latencies = await timed(actions, lanes)
    line = summary(name, latencies, time.perf_counter() - started)
    print(line, flush=True)
    return line


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


async def bench(delegations: int, decision_count: int) -> None:
    members = NRC_ROSTERS.latest.member_codes[:delegations]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(TEMPORAL),
            port=port,
            ui=False,
            search_attributes=SEARCH_ATTRIBUTES,
            data_converter=pydantic_data_converter,
            dev_server_database_filename=str(Path(tmp) / "temporal.db"),
        )
        url = f"sqlite+aiosqlite:///{tmp}/concord.db"
        await upgrade(url)
        store: EventStore = await open_store(url)
        client: Client = env.client
        try:
            async with (
                build_worker(client, store, "bench-concord"),
                Worker(
                    client,
                    task_queue="bench-bare",
                    workflows=[BareWorkflow],
                    activities=[store_one],
                    workflow_runner=UnsandboxedWorkflowRunner(),
                ),
            ):
                decisions = DecisionClient(client, "bench-concord")
                api_port = free_port()
                async with (
                    serving(api_app(decisions, store), "127.0.0.1", api_port),
                    httpx.AsyncClient(
                        base_url=f"http://127.0.0.1:{api_port}",
                        timeout=60,
                        limits=httpx.Limits(max_connections=delegations * 2),
                    ) as http,
                ):
                    tokens = Tokens(store)
                    keys = {
                        m: (await tokens.issue(Role.MEMBER, m, "operator:bench")).token
                        for m in members
                    }
                    rows: list[str] = []
                    for _ in range(2):  # alternate the three paths, twice
                        rows.append(
                            await measure(
                                "API (HTTP, token, update, append)",
                                [
                                    api_concurrence(http, keys[m], d, r, h)
                                    for d, r, h in await open_rounds(decisions, decision_count, "a")
                                    for m in members
                                ],
                                delegations,
                            )
                        )
                        rows.append(
                            await measure(
                                "decision client (update, append)",
                                [
                                    client_concurrence(decisions, m, d, r, h)
                                    for d, r, h in await open_rounds(decisions, decision_count, "c")
                                    for m in members
                                ],
                                delegations,
                            )
                        )
                        handles = [
                            await client.start_workflow(
                                BareWorkflow.run,
                                id=f"bare-{uuid.uuid4().hex}",
                                task_queue="bench-bare",
                            )
                            for _ in range(decision_count)
                        ]
                        rows.append(
                            await measure(
                                "bare Temporal update + one activity",
                                [
                                    bare_update(h, m, slots)
                                    for h, slots in (
                                        (h, asyncio.Semaphore(MAX_IN_FLIGHT)) for h in handles
                                    )
                                    for m in members
                                ],
                                delegations,
                            )
                        )
                        for h in handles:
                            await h.signal(BareWorkflow.finish)
                    print("| path | actions | actions/s | p50 ms | p95 ms |")
                    print("|---|---:|---:|---:|---:|")
                    print("\n".join(rows))
        finally:
            await store.close()
            await env.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delegations", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(bench(args.delegations, args.decisions))


if __name__ == "__main__":
    main()
