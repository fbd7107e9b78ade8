"""The bodies' sittings on a real `concord dev`: one Temporal Schedule per body, kept across a
restart without duplicates; a year of sittings backfilled in seconds; the compliance report."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.client import Client, ScheduleBackfill, ScheduleOverlapPolicy
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.nrc import NRC
from runtime.meetings import schedule_id
from tests.e2e.conftest import Stack, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

YEAR = ("2025-01-01", "2026-01-01")
SCHEDULED = sorted(b.code for b in NRC.bodies if b.cadence is not None and b.cadence.rule)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("concord-meetings")) as running:
        yield running


async def client_of(stack: Stack) -> Client:
    return await Client.connect(
        stack.env["CONCORD_TEMPORAL_ADDRESS"], data_converter=pydantic_data_converter
    )


async def sittings_schedules(client: Client) -> list[str]:
    return sorted(
        [s.id async for s in await client.list_schedules() if s.id.startswith("sittings-")]
    )


def sittings_of_the_year(stack: Stack) -> dict[str, int]:
    listed = stack.ok("meetings", "list", "--from", YEAR[0], "--to", YEAR[1])["sittings"]
    counts: dict[str, int] = {}
    for sitting in listed:
        counts[sitting["body"]] = counts.get(sitting["body"], 0) + 1
    return counts


def until(stack: Stack, holds: Any, timeout: float = 90) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = sittings_of_the_year(stack)
        if holds(counts) or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


async def runs_completed(
    client: Client, body: str, since: datetime, expected: int, timeout: float = 90
) -> int:
    """How many runs `body`'s schedule started after `since` have completed, as Temporal lists
    them, once `expected` have (asked every 0.5 s, for at most `timeout` seconds)."""
    runs = f'TemporalScheduledById = "{schedule_id(body)}" AND StartTime > "{since.isoformat()}"'
    completed = f'{runs} AND ExecutionStatus = "Completed"'
    deadline = time.monotonic() + timeout
    while (count := (await client.count_workflows(completed)).count) < expected:
        assert time.monotonic() < deadline, [
            (w.id, w.status) async for w in client.list_workflows(runs)
        ]
        await asyncio.sleep(0.5)
    return count


async def test_each_body_with_a_rule_sits_by_its_own_schedule_a_year_in_seconds(
    stack: Stack,
) -> None:
    client = await client_of(stack)
    expected_ids = sorted(schedule_id(code) for code in SCHEDULED)
    deadline = time.monotonic() + 30
    while await sittings_schedules(client) != expected_ids and time.monotonic() < deadline:
        time.sleep(0.5)
    assert await sittings_schedules(client) == expected_ids
    synced = stack.ok("meetings", "sync")["schedules"]
    assert {s["outcome"] for s in synced} == {"unchanged"}, synced

    start, end = (datetime.fromisoformat(d).replace(tzinfo=UTC) for d in YEAR)
    for body in ("PC", "NRC-AMB"):
        await client.get_schedule_handle(schedule_id(body)).backfill(
            ScheduleBackfill(start_at=start, end_at=end, overlap=ScheduleOverlapPolicy.ALLOW_ALL)
        )
    counts = until(stack, lambda c: c.get("PC") == 24 and c.get("NRC-AMB") == 12)
    assert counts == {"PC": 24, "NRC-AMB": 12}

    report = {
        r["body"]: r
        for r in stack.ok("meetings", "report", "--from", YEAR[0], "--to", YEAR[1])["bodies"]
    }
    assert (report["PC"]["held"], report["PC"]["required"]) == (24, 24)
    assert report["PC"]["below_minimum"] is False
    assert (report["NRC-AMB"]["held"], report["NRC-AMB"]["below_minimum"]) == (12, False)
    missed = report["NRC-MR"]  # its schedule was not backfilled: every month short
    assert missed["below_minimum"] is True and missed["held"] == 0
    assert len(missed["short_periods"]) == 12 and missed["required"] == 12
    assert report["NRC-HSG"]["minimum"] is None and report["NRC-HSG"]["below_minimum"] is False

    sitting = stack.ok("meetings", "list", "--body", "PC", "--from", YEAR[0], "--to", YEAR[1])
    first = sitting["sittings"][0]
    assert first["sitting_at"] == "2025-01-08T10:00:00+00:00"  # the second Wednesday
    shown = stack.ok("meetings", "show", first["meeting_id"])
    assert shown["body"] == "PC" and shown["kind"] == "regular" and shown["record"] is None

    present = ("--present", "POL", "--present", "RUS")
    assert "XXX is not a member of PC" in stack.fails(
        3, "meetings", "record", first["meeting_id"], "--present", "XXX"
    )
    stack.ok("meetings", "record", first["meeting_id"], *present)
    record = stack.ok("meetings", "show", first["meeting_id"])["record"]
    assert record["present"] == ["POL", "RUS"] and record["recorded_by"] == "operator:secretariat"
    assert "recorded already" in stack.fails(3, "meetings", "record", first["meeting_id"], *present)


async def test_schedules_survive_a_restart_of_the_stack_without_duplicate_sittings(
    stack: Stack,
) -> None:
    before = sittings_of_the_year(stack)
    assert stack.stop() == 0
    stack.start()
    client = await client_of(stack)
    assert await sittings_schedules(client) == sorted(schedule_id(c) for c in SCHEDULED)
    assert {s["outcome"] for s in stack.ok("meetings", "sync")["schedules"]} == {"unchanged"}
    start, end = (datetime.fromisoformat(d).replace(tzinfo=UTC) for d in YEAR)
    backfilled_at = datetime.now(UTC)
    await client.get_schedule_handle(schedule_id("PC")).backfill(
        ScheduleBackfill(start_at=start, end_at=end, overlap=ScheduleOverlapPolicy.ALLOW_ALL)
    )
    # The year's 24 sittings run again; once all have run, each has found its record.
    assert await runs_completed(client, "PC", backfilled_at, 24) == 24
    assert sittings_of_the_year(stack) == before
