"""The append algorithm's helpers: a coroutine run without an event loop, rows by name."""

from __future__ import annotations

import asyncio

import pytest

from store.appending import run_without_suspending
from store.schema import LOG_COLUMNS, LogRow, events


async def _answer() -> int:
    return 42


async def _suspending() -> int:
    await asyncio.sleep(0)
    return 0


def test_a_coroutine_that_never_suspends_runs_to_its_result_without_a_loop() -> None:
    assert run_without_suspending(_answer()) == 42


def test_a_coroutine_that_suspends_is_refused() -> None:
    with pytest.raises(RuntimeError, match="suspended"):
        run_without_suspending(_suspending())


def test_a_log_row_names_the_columns_of_the_events_table_in_order() -> None:
    assert LOG_COLUMNS == LogRow._fields == tuple(column.name for column in events.columns)
