"""The worker's walks over the payloads of each activation and completion, skipped where they
would change nothing.

For every activation a worker takes and every completion it returns, the SDK walks the whole
message six times, in Python, handing each payload to its data converter's codec and external
storage: three walks to decode (a reference's marker, the external store, the codec) and three
to encode. Concord's converter has neither a codec nor an external storage, so each walk hands
each payload back as it was; they were a sixth of a busy worker's Python time
(docs/benchmarks.md). The walks still have two things to do without them: refuse a payload that
refers to an external store (which this worker could not read), and open the envelopes of
Temporal's system Nexus operations, whose payloads are walked inside them. Both are told by
names a payload's metadata carries, which the message's bytes carry as they are: a message
whose bytes hold none of them is one the walks would hand back unchanged, and it is not walked.
Any other message, and any converter with a codec or an external storage, takes the SDK's walks
as they are.

The walks are functions of the SDK's bridge module, which its workflow worker calls by name;
`install` puts in their place functions that skip or call them. That applies only to the SDK's
code as it was read when this was written (`REVIEWED`): a release that changes any of it walks
every message, until it is read again (`skipping_applies` tells which; a test says so).
"""

from __future__ import annotations

import functools
from typing import Final

import temporalio.bridge.worker
import temporalio.converter._extstore as extstore
import temporalio.nexus.system
from google.protobuf.message import Message
from temporalio.bridge.proto.workflow_activation import WorkflowActivation
from temporalio.bridge.proto.workflow_completion import WorkflowActivationCompletion
from temporalio.converter import DataConverter

from runtime.reviewed import reviewed

REVIEWED: Final = {
    "temporalio.bridge.worker:decode_activation": (
        "f48cb3360af5ebef1b1a2084e863b36e8bed152ae8537af5a1dc2fbc226d2734"
    ),
    "temporalio.bridge.worker:encode_completion": (
        "a1d916feb9231adbc638289e6476c20383bfdff7aad7125dfd95bfc8af6c042e"
    ),
    "temporalio.bridge.worker:_Visitor": (
        "77ed4eedc9e3f187388a4d87938ec4f03e1c2bb45c792d8a10b72ba16769f303"
    ),
    "temporalio.worker._workflow:_WorkflowWorker._handle_activation": (
        "772c39c4a2e978a355ece7d81c14229b28b669ee95cb369c64278ee6f31bcf18"
    ),
    "temporalio.worker._workflow:_CommandAwareDataConverter": (
        "7798b1383c6f2637225723aa6616a5bc6efbc6aca09a556cfc67116fc9eeccc1"
    ),
    "temporalio.converter._data_converter:DataConverter._decode_reference_payload_sequence": (
        "079fe5b19c64d94bebc0a93d7391691956405ba6a149a38220a51e3e4245a5af"
    ),
    "temporalio.converter._data_converter:DataConverter._external_retrieve_payload_sequence": (
        "113d8e9929f955c1bbea68711417ba2a86f080bf25af26b1b2f33ef443387cc2"
    ),
    "temporalio.converter._data_converter:DataConverter._decode_payload_sequence": (
        "205960d28823eb262abeb190cf84b06814213570d6afae68193bdb9e1c214b5d"
    ),
    "temporalio.converter._data_converter:DataConverter._encode_payload_sequence": (
        "a933ea16d995f7d749adc69cec2acea367347825ba2893788ce62455e8c25c51"
    ),
    "temporalio.converter._data_converter:DataConverter._external_store_payload_sequence": (
        "6499b8dea9f08423bebfd83268e8b8b5c2b4f8f448286943d3e4224f8b8009dd"
    ),
    "temporalio.converter._data_converter:DataConverter._encode_reference_payload_sequence": (
        "ba68fc585da14c58da9dfaa3215c4ee969576492f0cca92643ca9c9ff36ede43"
    ),
    "temporalio.converter._data_converter:_is_reference_payload": (
        "90396a0e43dbdd5ceb756b2fbad3fca662bb0fd65fd32783d71c5e065e484fe7"
    ),
    "temporalio.converter._data_converter:_has_reference_marker": (
        "23f42185cc1068b20e87bc9820b4ec8ef363450893577e794cd4ca8eac90e017"
    ),
    "temporalio.bridge._visitor:PayloadVisitor._visit_temporal_api_common_v1_Payload": (
        "fc9b973e1c7f46ed210f44b69f8457399125283f6049ab088aad3b5eefa52935"
    ),
    "temporalio.nexus.system:maybe_visit_payload": (
        "2a88c5855aafc26ea712eea2eac84c271334e84089b5a6d791d680f75b47dd86"
    ),
    "temporalio.nexus.system:_is_system_payload": (
        "abce8ed593e75dc2faa23e2a0dfe5559d6841dffe8d5d4c61a372ae7c5477635"
    ),
}
"""The SDK's code the skipping leans on, `module:name` or `module:Class.method`, by the sha256 of
its source as read."""

_SIGNS: Final = (
    extstore._REFERENCE_MARKER_KEY.encode(),
    extstore._REFERENCE_ENCODING,
    extstore._REFERENCE_MESSAGE_TYPE,
    temporalio.nexus.system._SYSTEM_PAYLOAD_METADATA_KEY.encode(),
)
"""What a payload's metadata says when the walks have something to do with it without a codec
or an external storage: it refers to an external store (by its marker, its encoding or its
message type), or it is a system Nexus envelope."""

_CHOOSES_BETWEEN: Final = ("_ca_context_free_dc", "_ca_workflow_context_dc")
"""The converters the SDK's per-command converter chooses between, payload by payload."""

_SDK_DECODE: Final = temporalio.bridge.worker.decode_activation
_SDK_ENCODE: Final = temporalio.bridge.worker.encode_completion


@functools.cache
def skipping_applies() -> bool:
    """Whether the installed SDK's code is the code the skipping was written against."""
    return reviewed(
        REVIEWED,
        {
            "temporalio.bridge.worker:decode_activation": _SDK_DECODE,
            "temporalio.bridge.worker:encode_completion": _SDK_ENCODE,
        },
    )


def converts_bytes(converter: DataConverter) -> bool:
    """Whether a walk could change a payload through `converter`: it has a codec or an external
    storage, or it chooses, payload by payload, between converters that may."""
    chosen: list[DataConverter | None] = [converter]
    chosen.extend(getattr(converter, name, None) for name in _CHOOSES_BETWEEN)
    return any(
        c is not None and (c.payload_codec is not None or c.external_storage is not None)
        for c in chosen
    )


def walked_unchanged(message: Message) -> bool:
    """Whether every walk over `message` would hand each payload back unchanged, with no codec
    and no external storage: none of its bytes say a payload refers to an external store or is
    a system Nexus envelope."""
    data = message.SerializeToString()
    return not any(sign in data for sign in _SIGNS)


def walks_change_something(message: Message, converter: DataConverter) -> bool:
    """Whether the SDK's walks over `message` through `converter` may do anything: the one
    question both skipping walks ask before they skip."""
    return converts_bytes(converter) or not walked_unchanged(message)


async def decode_activation(
    activation: WorkflowActivation,
    data_converter: DataConverter,
    decode_headers: bool,
    storage_concurrency_limit: int,
) -> extstore.StorageOperationMetrics:
    """The SDK's `decode_activation`, unless its walks would change nothing."""
    if walks_change_something(activation, data_converter):
        return await _SDK_DECODE(
            activation,
            data_converter,
            decode_headers=decode_headers,
            storage_concurrency_limit=storage_concurrency_limit,
        )
    return extstore.StorageOperationMetrics()


async def encode_completion(
    completion: WorkflowActivationCompletion,
    data_converter: DataConverter,
    encode_headers: bool,
    storage_concurrency_limit: int,
) -> extstore.StorageOperationMetrics:
    """The SDK's `encode_completion`, unless its walks would change nothing."""
    if walks_change_something(completion, data_converter):
        return await _SDK_ENCODE(
            completion,
            data_converter,
            encode_headers=encode_headers,
            storage_concurrency_limit=storage_concurrency_limit,
        )
    return extstore.StorageOperationMetrics()


def install() -> bool:
    """Put the skipping walks in the SDK's place, in this process; whether they are there."""
    if not skipping_applies():
        return False
    temporalio.bridge.worker.decode_activation = decode_activation
    temporalio.bridge.worker.encode_completion = encode_completion
    return True
