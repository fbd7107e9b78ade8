"""How long a command waits for its receipt: at most the bound, then it is unacknowledged (exit 5,
503) and says how to give it again without giving it twice."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError

from cli.session import resendable
from runtime.decisions import Unacknowledged, acknowledged


async def _update_waiting_for_its_outcome() -> None:
    """As Temporal's client waits for an update's outcome: cancelled, it says so in its words."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        raise WorkflowUpdateRPCTimeoutOrCancelledError() from None


async def test_a_receipt_that_does_not_come_within_the_bound_is_unacknowledged() -> None:
    started = time.monotonic()
    with pytest.raises(Unacknowledged) as caught:
        async with acknowledged("d-1", 0.2):
            await _update_waiting_for_its_outcome()

    assert time.monotonic() - started < 2
    late = caught.value
    assert (late.exit_code, late.http_status, late.code) == (5, 503, "unavailable")
    assert late.line() == (
        "unavailable: decision d-1: the command is not acknowledged after 0.2 s: it is not stored "
        "yet (the event store or the worker does not answer) and may still be once they are "
        "back; send it again with the same idempotency key to get its receipt without giving it "
        "twice"
    )


async def test_a_receipt_within_the_bound_or_without_one_is_simply_awaited() -> None:
    async with acknowledged("d-1", 5):
        await asyncio.sleep(0.01)
    async with acknowledged("d-1", None):
        await asyncio.sleep(0.01)


async def test_a_caller_cancelled_while_it_waits_is_cancelled_not_told_to_send_again() -> None:
    async def waiting() -> None:
        async with acknowledged("d-1", 30):
            await _update_waiting_for_its_outcome()

    task = asyncio.create_task(waiting())
    await asyncio.sleep(0.05)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task


def test_the_cli_names_the_key_it_made_up_and_the_options_that_give_the_command_again() -> None:
    with pytest.raises(Unacknowledged) as made_up, resendable(None, "--id", "d-1") as key:
        raise Unacknowledged("d-1", 30)
    with pytest.raises(Unacknowledged) as given, resendable("k-7") as same:
        raise Unacknowledged("d-1", 30)

    assert re.fullmatch(r"[0-9a-f-]{36}", key)
    assert made_up.value.message.endswith(
        f"give it again with --id d-1 --key {key} to get its receipt without giving it twice"
    )
    assert same == "k-7"
    assert "not acknowledged after 30 s" in given.value.message
    assert given.value.message.endswith(
        "give it again with --key k-7 to get its receipt without giving it twice"
    )


def test_a_bound_under_a_second_is_said_as_it_was() -> None:
    from runtime.decisions import Unacknowledged

    assert "not acknowledged after 0.04 s" in Unacknowledged("d-1", 0.04).message
    assert "not acknowledged after 1.5 s" in Unacknowledged("d-1", 1.5).message
