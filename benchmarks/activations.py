"""What a worker spends on each activation of Concord's decisions, besides the decision itself:
the SDK's walks over each activation's and completion's payloads, and the data converters it
builds for each.

Every committed history (tests/histories) is replayed, in this process, under the worker's
sandbox, with the SDK's walks or the skipping ones (runtime.payload_visits), and with the SDK's
pydantic data converter or Concord's (workflows.converter); the ways alternate round by round.
Replaying a history runs its activations through the code a worker runs for a live one, so the
CPU time per activation compares the ways on real messages; it prints each way's CPU per
activation (median of the rounds) and the walks' share. Run by hand:
    .venv/bin/python benchmarks/activations.py --rounds 7
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import temporalio.bridge.worker  # noqa: E402
from temporalio.client import WorkflowHistory  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.converter import DataConverter  # noqa: E402
from temporalio.worker import Replayer  # noqa: E402

import runtime.payload_visits as visits  # noqa: E402
from runtime.bootstrap import workflow_runner  # noqa: E402
from workflows.converter import DATA_CONVERTER  # noqa: E402
from workflows.decision import DecisionWorkflow  # noqa: E402
from workflows.supersession import SupersessionWorkflow  # noqa: E402

HISTORIES = sorted((ROOT / "tests" / "histories").glob("*.json"))

WAYS: dict[str, tuple[bool, DataConverter]] = {
    "the SDK's walks, pydantic's converter": (False, pydantic_data_converter),
    "skipping walks, pydantic's converter": (True, pydantic_data_converter),
    "the SDK's walks, Concord's converter": (False, DATA_CONVERTER),
    "skipping walks, Concord's converter": (True, DATA_CONVERTER),
}


def walks(skipping: bool) -> None:
    """The walks the worker's code calls by name, in this process."""
    if skipping:
        assert visits.install(), "the installed SDK is not the one the skipping was written for"
    else:
        temporalio.bridge.worker.decode_activation = visits._SDK_DECODE
        temporalio.bridge.worker.encode_completion = visits._SDK_ENCODE


def counting(walk: Callable[..., Any], counted: list[int]) -> Callable[..., Any]:
    async def counted_walk(*args: Any, **kwargs: Any) -> Any:
        counted[0] += 1
        return await walk(*args, **kwargs)

    return counted_walk


async def replay_all(histories: list[WorkflowHistory], converter: DataConverter) -> None:
    replayer = Replayer(
        workflows=[DecisionWorkflow, SupersessionWorkflow],
        data_converter=converter,
        workflow_runner=workflow_runner(),
    )
    async with replayer.workflow_replay_iterator(_each(histories)) as results:
        async for result in results:
            assert result.replay_failure is None, result.replay_failure


async def _each(histories: list[WorkflowHistory]) -> Any:
    for history in histories:
        yield history


async def activations_per_replay(histories: list[WorkflowHistory]) -> int:
    counted = [0]
    walks(False)
    temporalio.bridge.worker.decode_activation = counting(visits._SDK_DECODE, counted)
    await replay_all(histories, pydantic_data_converter)
    return counted[0]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--copies", type=int, default=5, help="each history replayed so often")
    args = parser.parse_args()
    histories = [
        WorkflowHistory.from_json(f"decision-{path.stem}-{n}", path.read_text())
        for path in HISTORIES
        for n in range(args.copies)
    ]
    activations = await activations_per_replay(histories)
    for skipping, converter in WAYS.values():  # warm every way once, untimed
        walks(skipping)
        await replay_all(histories, converter)
    spent: dict[str, list[float]] = {way: [] for way in WAYS}
    for _ in range(args.rounds):
        for way, (skipping, converter) in WAYS.items():
            walks(skipping)
            started = time.process_time()
            await replay_all(histories, converter)
            spent[way].append((time.process_time() - started) / activations * 1e6)
    print(
        f"{len(histories)} histories ({len(HISTORIES)} committed, x{args.copies}), "
        f"{activations} activations a replay, {args.rounds} rounds"
    )
    sdk = statistics.median(spent[next(iter(WAYS))])
    for way, each in spent.items():
        median = statistics.median(each)
        print(
            f"{way:40} {median:7.1f} us CPU an activation "
            f"({min(each):.1f}-{max(each):.1f}), {median / sdk:.2f}x"
        )


if __name__ == "__main__":
    asyncio.run(main())
