"""The bare Temporal shape of a joint decision, and its worker: a workflow started once and
given updates, each checked by a validator (state built in `@workflow.init`) and running one
activity, one local activity, or one activity serialised per workflow (one append at a time).
Its worker runs the workflow unsandboxed on its task queue, and in the SDK's sandbox, with the
runner Concord's worker uses, on the same queue suffixed with `-sandboxed`.

Run by the lifecycle benchmark as a process of its own, so its CPU and memory are its own:
    python benchmarks/bare_shape.py --address 127.0.0.1:7233 --task-queue bench-bare
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import timedelta
from typing import Final, Literal

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

Variant = Literal["activity", "local", "serialised", "sandboxed-local"]
SANDBOXED: Final = "-sandboxed"
"""The suffix of the task queue whose worker runs the workflow in the SDK's sandbox."""
STEP: timedelta = timedelta(seconds=30)


class BareStart(BaseModel):
    variant: Variant
    members: tuple[str, ...]


class BareAction(BaseModel):
    kind: str
    member: str = ""


@activity.defn(name="bench.store")
async def store_one(value: int) -> int:
    """What an append is reduced to: a call that returns."""
    return value


@workflow.defn(name="BareDecision")
class BareDecision:
    """Takes actions until told to finish; a member acts once per round."""

    @workflow.init
    def __init__(self, start: BareStart) -> None:
        self._variant = start.variant
        self._members = set(start.members)
        self._acted: set[str] = set()
        self._count = 0
        self._done = False
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, start: BareStart) -> int:
        await workflow.wait_condition(lambda: self._done and workflow.all_handlers_finished())
        return self._count

    @workflow.update
    async def act(self, action: BareAction) -> int:
        if action.kind == "concur":
            self._acted.add(action.member)
        self._count += 1
        if self._variant in ("local", "sandboxed-local"):
            stored: int = await workflow.execute_local_activity(
                store_one, self._count, start_to_close_timeout=STEP
            )
        elif self._variant == "serialised":
            async with self._lock:
                stored = await workflow.execute_activity(
                    store_one, self._count, start_to_close_timeout=STEP
                )
        else:
            stored = await workflow.execute_activity(
                store_one, self._count, start_to_close_timeout=STEP
            )
        if action.kind == "complete":
            self._done = True
        return stored

    @act.validator
    def _check(self, action: BareAction) -> None:
        if action.kind == "concur" and (
            action.member not in self._members or action.member in self._acted
        ):
            raise ValueError(f"{action.member} may not concur")


async def serve(address: str, task_queue: str) -> None:
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # The module by its name, not __main__: the sandbox imports a workflow's module afresh
    # (and Concord's runner here only, not in the module the sandbox imports).
    from bare_shape import BareDecision, store_one

    from runtime.bootstrap import workflow_runner

    async with (
        Worker(
            client,
            task_queue=task_queue,
            workflows=[BareDecision],
            activities=[store_one],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
        Worker(
            client,
            task_queue=task_queue + SANDBOXED,
            workflows=[BareDecision],
            activities=[store_one],
            workflow_runner=workflow_runner(),
        ),
    ):
        print("bare worker running", flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    arguments = parser.parse_args()
    asyncio.run(serve(arguments.address, arguments.task_queue))


if __name__ == "__main__":
    main()
