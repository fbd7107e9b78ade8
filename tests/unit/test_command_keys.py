"""A caller's idempotency key names one command across decisions: the adapters' `Commands`
refuses a key stored on another decision before the command reaches Temporal."""

from __future__ import annotations

from typing import cast

import pytest

from domain.errors import InvalidInput, Unavailable
from runtime.commands import Commands
from runtime.decisions import DecisionClient

HELD = {"member:RUS/k-1": "d-first"}


async def holder(key: str) -> str | None:
    return HELD.get(key)


async def unreadable(key: str) -> str | None:
    raise Unavailable("the event store cannot be reached")


async def test_a_key_stored_on_another_decision_is_refused_naming_that_decision() -> None:
    # The check runs before any call to Temporal: no client is needed to see it refuse.
    commands = Commands(cast(DecisionClient, None), keys=holder)
    with pytest.raises(InvalidInput) as refused:
        await commands.key_free("member:RUS/k-1", "d-second")
    assert refused.value.field == "idempotency_key"
    assert "names a command on decision d-first" in refused.value.reason


async def test_a_key_on_its_own_decision_a_new_key_or_none_goes_on() -> None:
    commands = Commands(cast(DecisionClient, None), keys=holder)
    await commands.key_free("member:RUS/k-1", "d-first")  # the decision's workflow answers it
    await commands.key_free("member:RUS/k-2", "d-second")
    await commands.key_free(None, "d-second")


async def test_a_store_out_of_reach_does_not_keep_a_command_from_its_decision() -> None:
    commands = Commands(cast(DecisionClient, None), keys=unreadable)
    await commands.key_free("member:RUS/k-1", "d-second")
