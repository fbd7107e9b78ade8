"""The sandbox decisions run in (runtime.sandbox) steps into runs faster than the SDK's own and
keeps everything the SDK's promises: the same serialization contexts for every payload, the
same refusals of what a workflow must not do, the same module state of a run's own."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

import runtime.sandbox
from runtime.bootstrap import PASSTHROUGH, workflow_runner
from runtime.reviewed import source_digest
from runtime.sandbox import REVIEWED, ConcordSandbox, fast_sandbox_applies
from tests.integration.workflows.sandboxed import (
    Carrier,
    ModuleCounter,
    WallClockReader,
    greet,
)
from tests.shutdown import bounded


@dataclasses.dataclass
class ContextRecorder(PayloadCodec, WithSerializationContext):
    """A codec that changes nothing and notes, for each payload, the context it was given."""

    seen: list[str]
    context: SerializationContext | None = None

    def with_context(self, context: SerializationContext) -> ContextRecorder:
        return ContextRecorder(self.seen, context)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self._note("encode", payloads)
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        self._note("decode", payloads)
        return list(payloads)

    def _note(self, way: str, payloads: Sequence[Payload]) -> None:
        match self.context:
            case ActivitySerializationContext() as c:
                said = f"activity {c.activity_type} of {c.workflow_id} local={c.is_local}"
            case WorkflowSerializationContext() as c:
                said = f"workflow {c.workflow_id}"
            case other:
                said = repr(other)
        self.seen.extend(f"{way} {said}: {p.data!r}" for p in payloads)


async def connected_with(env: WorkflowEnvironment, converter: DataConverter) -> Client:
    """A client of the test server that converts payloads with `converter`."""
    return await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        data_converter=converter,
    )


def carrier_worker(client: Client, runner: WorkflowRunner) -> Worker:
    """A worker of the carrier and its activity, on a task queue of its own."""
    return Worker(
        client,
        task_queue=f"carrier-{uuid.uuid4().hex[:8]}",
        workflows=[Carrier],
        activities=[greet],
        workflow_runner=runner,
    )


async def contexts_under(env: WorkflowEnvironment, runner: WorkflowRunner) -> set[str]:
    """Each payload of a carrier's run, the way it went and the context it went with (a run that
    a worker replays sees some payloads twice: what is compared is which, not how often)."""
    seen: list[str] = []
    client = await connected_with(
        env, dataclasses.replace(pydantic_data_converter, payload_codec=ContextRecorder(seen))
    )
    worker = carrier_worker(client, runner)
    async with bounded("the carrier's worker", worker):
        handle = await client.start_workflow(
            Carrier.run, "Rome", id="carrier", task_queue=worker.task_queue
        )
        assert await handle.execute_update(Carrier.answer, "agreed") == "AGREED"
        assert await handle.query(Carrier.answered) == "agreed"
        assert await handle.result() == "hello, hello, Rome / agreed"
    return set(seen)


def test_the_faster_sandbox_applies_to_the_installed_sdk() -> None:
    # Were the SDK's code changed, the worker would fall back to the SDK's own sandbox and run
    # slower without a word: this test is the word (read the changed code, then REVIEWED).
    assert fast_sandbox_applies()
    assert isinstance(workflow_runner(), ConcordSandbox)


async def test_an_sdk_whose_code_changed_runs_its_own_sandbox_unchanged(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = dict(REVIEWED)
    changed[next(iter(REVIEWED))] = source_digest("json:dumps") or ""
    monkeypatch.setattr(runtime.sandbox, "REVIEWED", changed)
    fast_sandbox_applies.cache_clear()
    try:
        assert not fast_sandbox_applies()
        restrictions = workflow_runner().restrictions
        theirs = await contexts_under(env, SandboxedWorkflowRunner(restrictions=restrictions))
        runtime.sandbox._compiled.cache_clear()
        assert await contexts_under(env, workflow_runner()) == theirs
        assert runtime.sandbox._compiled.cache_info().currsize == 0  # none of our steps ran
    finally:
        monkeypatch.undo()
        fast_sandbox_applies.cache_clear()
    assert fast_sandbox_applies()


def test_a_method_whose_source_cannot_be_read_has_no_digest() -> None:
    assert source_digest("temporalio.worker.workflow_sandbox._runner:_Instance.gone") is None
    assert source_digest("no.such.module:Thing.method") is None
    assert source_digest("builtins:len") is None  # compiled: no source to read


async def test_every_payload_has_the_context_the_sdks_own_sandbox_gives_it(
    env: WorkflowEnvironment,
) -> None:
    runtime.sandbox._compiled.cache_clear()
    ours = await contexts_under(env, workflow_runner())
    assert runtime.sandbox._compiled.cache_info().currsize > 0  # our steps ran
    restrictions = workflow_runner().restrictions
    theirs = await contexts_under(env, SandboxedWorkflowRunner(restrictions=restrictions))
    assert ours == theirs
    assert any("activity greet of carrier local=False" in line for line in ours)
    assert any("activity greet of carrier local=True" in line for line in ours)
    assert any(line.startswith("decode workflow carrier") for line in ours)


@pytest.mark.parametrize("runner", [workflow_runner(), ConcordSandbox()], ids=["worker's", "bare"])
async def test_a_workflow_that_reads_the_wall_clock_is_stopped(
    env: WorkflowEnvironment, runner: WorkflowRunner
) -> None:
    task_queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        env.client,
        task_queue=task_queue,
        workflows=[WallClockReader],
        workflow_runner=runner,
        workflow_failure_exception_types=[Exception],
    )
    async with bounded("the clock reader's worker", worker):
        with pytest.raises(WorkflowFailureError) as failed:
            await env.client.execute_workflow(
                WallClockReader.run, id=f"clock-{uuid.uuid4().hex[:8]}", task_queue=task_queue
            )
    assert "datetime.datetime.now" in str(failed.value.cause)


async def test_each_run_has_its_own_module_state(env: WorkflowEnvironment) -> None:
    task_queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        env.client,
        task_queue=task_queue,
        workflows=[ModuleCounter],
        workflow_runner=workflow_runner(),
    )
    async with bounded("the counter's worker", worker):
        counts = [
            await env.client.execute_workflow(
                ModuleCounter.run, id=f"count-{n}", task_queue=task_queue
            )
            for n in range(3)
        ]
    assert counts == [1, 1, 1]


def test_the_worker_shares_only_pure_modules_between_runs() -> None:
    passed = workflow_runner().restrictions.passthrough_modules
    assert set(PASSTHROUGH) <= passed
    assert not {"workflows.decision", "activities", "store", "runtime"} & passed
