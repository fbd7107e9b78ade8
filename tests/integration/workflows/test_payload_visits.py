"""The worker skips the SDK's walks over the payloads of an activation and of a completion only
where they would change nothing (runtime.payload_visits): every message, walked or not, comes out
as the SDK's own walks leave it, a payload that refers to an external store is refused as the SDK
refuses it, and a converter with a codec sees every payload it saw before."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
import temporalio.bridge.worker
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec
from temporalio.testing import WorkflowEnvironment

import runtime.payload_visits
from runtime.bootstrap import workflow_runner
from runtime.payload_visits import (
    REVIEWED,
    decode_activation,
    encode_completion,
    install,
    skipping_applies,
    walked_unchanged,
)
from runtime.reviewed import source_digest
from tests.integration.workflows.sandboxed import Carrier
from tests.integration.workflows.test_sandbox import carrier_worker, connected_with, contexts_under
from tests.shutdown import bounded

SDK_DECODE = runtime.payload_visits._SDK_DECODE
SDK_ENCODE = runtime.payload_visits._SDK_ENCODE

PLAIN = {"encoding": b"json/plain"}
REFERENCES = {
    "marker": {"encoding": b"json/plain", "__temporal_external_storage_reference": b"true"},
    "encoding": {"encoding": b"json/external-storage-reference"},
    "message type": {
        "encoding": b"json/protobuf",
        "messageType": b"temporal.api.sdk.v1.ExternalStorageReference",
    },
}
NEXUS_ENVELOPE = {"encoding": b"json/plain", "__temporal_system_payload": b"true"}


def payload(metadata: dict[str, bytes], data: bytes = b'{"said": "agreed"}') -> Payload:
    return Payload(metadata=metadata, data=data)


def activation(metadata: dict[str, bytes], plain: dict[str, bytes] = PLAIN) -> WorkflowActivation:
    """An activation that starts a run and updates it, with payloads of `metadata` and of
    `plain` in each place: the run's arguments, the update's input and both jobs' headers."""
    made = WorkflowActivation(run_id="run-1")
    start = made.jobs.add().initialize_workflow
    start.workflow_type, start.workflow_id = "DecisionWorkflow", "decision-1"
    start.arguments.extend([payload(plain), payload(metadata)])
    start.headers["trace"].CopyFrom(payload(plain, b'"t"'))
    update = made.jobs.add().do_update
    update.id, update.name, update.run_validator = "u-1", "concur", True
    update.input.extend([payload(metadata), payload(plain, b'"Rome"')])
    update.headers["trace"].CopyFrom(payload(metadata, b'"t"'))
    return made


def completion(
    metadata: dict[str, bytes], plain: dict[str, bytes] = PLAIN
) -> WorkflowActivationCompletion:
    """A completion that answers an update, schedules a local append and completes the run,
    with payloads of `metadata` and of `plain`."""
    made = WorkflowActivationCompletion(run_id="run-1")
    answered = made.successful.commands.add().update_response
    answered.protocol_instance_id = "u-1"
    answered.completed.CopyFrom(payload(metadata))
    append = made.successful.commands.add().schedule_local_activity
    append.seq, append.activity_id, append.activity_type = 1, "1", "append_events"
    append.arguments.extend([payload(plain), payload(metadata)])
    append.headers["trace"].CopyFrom(payload(metadata, b'"t"'))
    made.successful.commands.add().complete_workflow_execution.result.CopyFrom(payload(metadata))
    return made


Walk = Callable[..., Awaitable[Any]]


async def outcome(walk: Walk, message: Message, converter: DataConverter) -> tuple[str, bytes]:
    """What a walk over a copy of `message` did: its error, or the message it left."""
    walked = type(message)()
    walked.CopyFrom(message)
    try:
        await walk(walked, converter, True, 1)
    except Exception as error:
        return f"{type(error).__name__}: {error}", b""
    return "", walked.SerializeToString(deterministic=True)


def test_the_skipping_applies_to_the_installed_sdk() -> None:
    # Were the SDK's code changed, the worker would walk every payload again and run slower
    # without a word: this test is the word (read the changed code, then REVIEWED).
    assert skipping_applies()


def test_an_sdk_whose_code_changed_keeps_its_walks(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = dict(REVIEWED)
    changed[next(iter(REVIEWED))] = source_digest("json:dumps") or ""
    monkeypatch.setattr(runtime.payload_visits, "REVIEWED", changed)
    monkeypatch.setattr(temporalio.bridge.worker, "decode_activation", SDK_DECODE)
    monkeypatch.setattr(temporalio.bridge.worker, "encode_completion", SDK_ENCODE)
    skipping_applies.cache_clear()
    try:
        assert not install()
        assert temporalio.bridge.worker.decode_activation is SDK_DECODE
        assert temporalio.bridge.worker.encode_completion is SDK_ENCODE
    finally:
        monkeypatch.undo()
        skipping_applies.cache_clear()
    assert skipping_applies()


def test_install_puts_the_skipping_walks_where_the_worker_calls_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(temporalio.bridge.worker, "decode_activation", SDK_DECODE)
    monkeypatch.setattr(temporalio.bridge.worker, "encode_completion", SDK_ENCODE)
    assert install()
    assert install()  # a second install changes nothing
    assert temporalio.bridge.worker.decode_activation is decode_activation
    assert temporalio.bridge.worker.encode_completion is encode_completion


@pytest.mark.parametrize(
    ("build", "ours", "theirs"),
    [(activation, decode_activation, SDK_DECODE), (completion, encode_completion, SDK_ENCODE)],
    ids=["activation", "completion"],
)
@pytest.mark.parametrize(
    "metadata",
    [PLAIN, *REFERENCES.values(), NEXUS_ENVELOPE],
    ids=["plain", *(f"reference by {way}" for way in REFERENCES), "system Nexus envelope"],
)
async def test_a_message_comes_out_as_the_sdks_walks_leave_it(
    build: Callable[[dict[str, bytes]], Message],
    ours: Walk,
    theirs: Walk,
    metadata: dict[str, bytes],
) -> None:
    message = build(metadata)
    assert walked_unchanged(message) == (metadata is PLAIN)
    assert await outcome(ours, message, pydantic_data_converter) == await outcome(
        theirs, message, pydantic_data_converter
    )


async def test_a_payload_referring_to_an_external_store_is_refused_as_the_sdk_refuses_it() -> None:
    for metadata in REFERENCES.values():
        refused, _ = await outcome(decode_activation, activation(metadata), pydantic_data_converter)
        assert "TMPRL1105" in refused or "TMPRL1106" in refused


STAMPED = {**PLAIN, "stamped": b"yes"}


class Stamper(PayloadCodec):
    """A codec that stamps each payload it encodes and takes the stamp off each it decodes."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [Payload(metadata={**p.metadata, "stamped": b"yes"}, data=p.data) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={k: v for k, v in p.metadata.items() if k != "stamped"}, data=p.data)
            for p in payloads
        ]


@pytest.mark.parametrize(
    ("message", "ours", "theirs"),
    [
        (activation(STAMPED, STAMPED), decode_activation, SDK_DECODE),
        (completion(PLAIN), encode_completion, SDK_ENCODE),
    ],
    ids=["activation", "completion"],
)
async def test_a_converter_with_a_codec_has_every_payload_walked(
    message: Message, ours: Walk, theirs: Walk
) -> None:
    converter = dataclasses.replace(pydantic_data_converter, payload_codec=Stamper())
    walked = await outcome(ours, message, converter)
    assert walked == await outcome(theirs, message, converter)
    assert walked[0] == ""
    assert walked[1] != message.SerializeToString(deterministic=True)  # the codec changed it


async def test_the_worker_walks_every_payload_to_a_codec_with_its_context(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(temporalio.bridge.worker, "decode_activation", SDK_DECODE)
    monkeypatch.setattr(temporalio.bridge.worker, "encode_completion", SDK_ENCODE)
    theirs = await contexts_under(env, workflow_runner())
    assert install()
    assert await contexts_under(env, workflow_runner()) == theirs
    assert any(line.startswith("decode workflow carrier") for line in theirs)


async def test_a_run_whose_payloads_are_plain_is_never_walked(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked: list[str] = []

    def counted(walk: Walk) -> Walk:
        async def counting(*args: Any, **kwargs: Any) -> Any:
            walked.append(type(args[0]).__name__)
            return await walk(*args, **kwargs)

        return counting

    monkeypatch.setattr(runtime.payload_visits, "_SDK_DECODE", counted(SDK_DECODE))
    monkeypatch.setattr(runtime.payload_visits, "_SDK_ENCODE", counted(SDK_ENCODE))
    assert install()
    worker = carrier_worker(env.client, workflow_runner())
    async with bounded("the carrier's worker", worker):
        handle = await env.client.start_workflow(
            Carrier.run, "Rome", id=f"carrier-{uuid.uuid4().hex[:8]}", task_queue=worker.task_queue
        )
        assert await handle.execute_update(Carrier.answer, "agreed") == "AGREED"
        assert await handle.result() == "hello, hello, Rome / agreed"
    assert walked == []


async def test_a_run_given_a_reference_it_cannot_read_fails_its_task_as_the_sdk_fails_it(
    env: WorkflowEnvironment,
) -> None:
    assert install()
    client = await connected_with(
        env, dataclasses.replace(pydantic_data_converter, payload_codec=Marker())
    )
    worker = carrier_worker(env.client, workflow_runner())
    async with bounded("the carrier's worker", worker):
        handle = await client.start_workflow(
            Carrier.run, "Rome", id=f"carrier-{uuid.uuid4().hex[:8]}", task_queue=worker.task_queue
        )
        failure = ""
        for _ in range(100):
            async for event in handle.fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                    failure = event.workflow_task_failed_event_attributes.failure.message
            if failure:
                break
            await env.sleep(0.1)
        await handle.terminate()
    assert "TMPRL1105" in failure


class Marker(PayloadCodec):
    """A client's codec that marks every payload it sends as a reference to an external store."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        marked = [Payload(metadata=p.metadata, data=p.data) for p in payloads]
        for p in marked:
            p.metadata["__temporal_external_storage_reference"] = b"true"
        return marked

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)
