"""What the dev server spends on each thing a decision's run asks of it beyond the bare local
shape (benchmarks/bare_shape.py): the bare shape alone, then with one of Concord's extras at a
time, then with all of them, the variants alternating round by round on one dev server; the
server's CPU per lifecycle for each, and what each adds to the bare shape's.

A lifecycle is a start and 36 updates, each running one local activity that stores nothing,
given as the lifecycle benchmark gives them to the bare shape (`lifecycle.bare_updates`). The
extras are what `python benchmarks/lifecycle.py --shape` finds in a Concord lifecycle's history
and requests that the bare shape's lacks:

  payloads     each update's input 294 bytes larger and its result 388 bytes larger (Concord's
               commands and receipts against the bare shape's, on average);
  upserts      three search-attribute upserts (a patch's, the area and proposer at the start,
               the state at the close);
  timers       two timers started and one cancelled (the decision's alarm);
  start-update the first update given with the start (ExecuteMultiOperation), as a proposal is;
  archive      the closed run described and its history fetched, as the archivist does.

The worker runs in this process; only the server's CPU is measured. Run by hand:
    .venv/bin/python benchmarks/server_costs.py --lifecycles 40 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Final

sys.path.insert(0, str(Path(__file__).parent))

from bare_shape import store_one
from lifecycle import Proc, bare_updates, free_port
from pydantic import BaseModel
from sections import write_run
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import SearchAttributeKey, WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from runtime.devserver import DevServer

QUEUE: Final = "bench-server-costs"
INPUT_PADDING: Final = 294
RESULT_PADDING: Final = 388
"""Bytes a Concord command and receipt carry beyond the bare shape's action and result, on
average (`lifecycle.py --shape`, 2026-12-07: 19,421 against 8,318 bytes of accepted updates and
18,372 against 3,934 of completed ones, for 37 and 36 updates)."""
AREA: Final = SearchAttributeKey.for_keyword("ConcordArea")
STATE: Final = SearchAttributeKey.for_keyword("ConcordState")
STEP: Final = timedelta(seconds=30)
ALARM: Final = timedelta(days=1)

EXTRAS: Final = ("payloads", "upserts", "timers", "start-update", "archive")


class Shape(BaseModel):
    payloads: bool = False
    upserts: bool = False
    timers: bool = False


class Action(BaseModel):
    kind: str
    padding: str = ""


class Result(BaseModel):
    count: int
    padding: str = ""


@workflow.defn(name="ServerCostsShape")
class ServerCostsShape:
    """The bare local shape, with the extras `Shape` asks for."""

    @workflow.init
    def __init__(self, shape: Shape) -> None:
        self._shape = shape
        self._count = 0
        self._done = False
        self._alarm: asyncio.Task[None] | None = None

    @workflow.run
    async def run(self, shape: Shape) -> int:
        if shape.upserts:
            workflow.upsert_search_attributes([AREA.value_set("area")])
        if shape.timers:
            self._alarm = asyncio.create_task(workflow.sleep(ALARM))
        await workflow.wait_condition(lambda: self._done and workflow.all_handlers_finished())
        if shape.upserts:
            workflow.upsert_search_attributes([STATE.value_set("closed")])
        return self._count

    @workflow.update
    async def act(self, action: Action) -> Result:
        self._count += 1
        number = self._count
        stored = await workflow.execute_local_activity(
            store_one, number, start_to_close_timeout=STEP
        )
        if number == 1 and self._shape.upserts:
            workflow.upsert_search_attributes([AREA.value_set("area-2")])
        if number == 3 and self._alarm is not None:  # the round opens
            self._alarm.cancel()  # a sooner deadline replaces the alarm
            self._alarm = asyncio.create_task(workflow.sleep(ALARM / 2))
        if action.kind == "complete":
            self._done = True
        return Result(count=stored, padding="r" * RESULT_PADDING if self._shape.payloads else "")


@dataclass
class Variant:
    name: str
    extras: frozenset[str]
    cpu_ms: list[float] = field(default_factory=list)
    """The server's CPU per lifecycle, one figure per round."""
    history: Counter[str] = field(default_factory=Counter)
    """One lifecycle's history: its events by type, "all" and the bytes they weigh."""

    @property
    def shape(self) -> Shape:
        return Shape(**{extra: extra in self.extras for extra in Shape.model_fields})


def variants() -> list[Variant]:
    return [
        Variant("bare local shape", frozenset()),
        *(Variant(f"+ {extra}", frozenset({extra})) for extra in EXTRAS),
        Variant("+ all of them", frozenset(EXTRAS)),
    ]


async def lifecycle(client: Client, variant: Variant) -> str:
    shape = variant.shape
    padding = "i" * INPUT_PADDING if shape.payloads else ""
    workflow_id = f"costs-{uuid.uuid4()}"
    first = Action(kind="refer", padding=padding)
    if "start-update" in variant.extras:
        start = WithStartWorkflowOperation(
            ServerCostsShape.run,
            shape,
            id=workflow_id,
            task_queue=QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        await client.execute_update_with_start_workflow(
            ServerCostsShape.act, first, start_workflow_operation=start
        )
        handle = await start.workflow_handle()
    else:
        handle = await client.start_workflow(
            ServerCostsShape.run, shape, id=workflow_id, task_queue=QUEUE
        )
        await handle.execute_update(ServerCostsShape.act, first)

    async def update(kind: str, member: str) -> Result:
        return await handle.execute_update(ServerCostsShape.act, Action(kind=kind, padding=padding))

    await bare_updates(update, [], first_given=True)
    await handle.result()
    if "archive" in variant.extras:
        run = await handle.describe()
        await client.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()
    return workflow_id


async def measured(
    client: Client, server: Proc, variant: Variant, count: int, at_once: int
) -> None:
    gate = asyncio.Semaphore(at_once)

    async def one() -> str:
        async with gate:
            return await lifecycle(client, variant)

    before = server.cpu()
    done = await asyncio.gather(*(one() for _ in range(count)))
    variant.cpu_ms.append((server.cpu() - before) / count * 1000)
    history = await client.get_workflow_handle(done[-1]).fetch_history()
    variant.history = Counter(EventType.Name(e.event_type) for e in history.events)
    variant.history["all"] = len(history.events)
    variant.history["bytes"] = sum(e.ByteSize() for e in history.events)


async def bench(lifecycles: int, at_once: int, rounds: int) -> list[str]:
    measured_variants = variants()
    with tempfile.TemporaryDirectory(prefix="concord-server-costs-") as folder:
        port = free_port()
        server = DevServer(
            Path(folder) / "temporal",
            "127.0.0.1",
            port,
            free_port(),
            keyword_attributes=[AREA.name, STATE.name],
        )
        server.start()
        try:
            await server.wait_ready()
            assert server.process is not None
            client = await Client.connect(server.address, data_converter=pydantic_data_converter)
            async with Worker(
                client,
                task_queue=QUEUE,
                workflows=[ServerCostsShape],
                activities=[store_one],
                workflow_runner=UnsandboxedWorkflowRunner(),
            ):
                warm_up = Variant("warm-up", frozenset(EXTRAS))
                await measured(client, Proc(server.process.pid), warm_up, at_once, at_once)
                for n in range(rounds):
                    for variant in measured_variants:
                        await measured(
                            client, Proc(server.process.pid), variant, lifecycles, at_once
                        )
                        print(
                            f"round {n + 1} {variant.name}: {variant.cpu_ms[-1]:.1f} ms",
                            flush=True,
                        )
        finally:
            server.stop()
    return table(measured_variants)


def table(measured_variants: Sequence[Variant]) -> list[str]:
    bare = statistics.median(measured_variants[0].cpu_ms)
    lines = [
        "| lifecycle | server CPU ms/lifecycle, median (range) | beyond the bare shape's "
        "| history events | history bytes | timers started, cancelled | upserts |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in measured_variants:
        median = statistics.median(variant.cpu_ms)
        spread = f"{min(variant.cpu_ms):.1f}-{max(variant.cpu_ms):.1f}"
        beyond = "" if variant is measured_variants[0] else f"{median - bare:+.1f}"
        h = variant.history
        lines.append(
            f"| {variant.name} | {median:.1f} ({spread}) | {beyond} | {h['all']} "
            f"| {h['bytes']:,} | {h['EVENT_TYPE_TIMER_STARTED']}, "
            f"{h['EVENT_TYPE_TIMER_CANCELED']} "
            f"| {h['EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES']} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lifecycles", type=int, default=40, help="per variant and round")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, nothing written")
    parser.add_argument("--no-write", action="store_true", help="print only")
    arguments = parser.parse_args(argv)
    if arguments.smoke:
        arguments.lifecycles, arguments.concurrency, arguments.rounds = 1, 1, 1
        arguments.no_write = True
    lines = asyncio.run(bench(arguments.lifecycles, arguments.concurrency, arguments.rounds))
    print("\n".join(lines))
    if not arguments.no_write:
        write_run(
            __file__,
            "server costs benchmark",
            "### What the server spends on each of Concord's extras",
            "; the variants alternate round by round on one dev server.",
            lines,
            argv,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
