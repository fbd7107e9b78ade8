"""The audit commands' exit codes say what an auditor learnt: a finding is 1, something not
there is 4, an instant no command could have is 2, and a check that could not be made because
Temporal is away is 5, never 1 (which would say the log is broken)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cli.app import invoke
from store.eventstore import open_store
from store.migrate import upgrade
from tests.integration.store.test_read_models import record
from tests.ports import free_port
from tests.unit.domain.scenario import Scenario


@pytest.fixture
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """A store holding one decision with an open round and no archived run, Temporal away;
    the decision's number of events."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'concord.db'}"

    async def grown() -> int:
        await upgrade(url)
        store = await open_store(url)
        try:
            await record(store, Scenario("d-exits").round_open())
            return await store.stream_version("d-exits")
        finally:
            await store.close()

    events = asyncio.run(grown())
    monkeypatch.setenv("CONCORD_DATABASE_URL", url)
    monkeypatch.setenv("CONCORD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONCORD_TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    return events


def test_replay_with_temporal_away_and_nothing_archived_is_unavailable_not_a_finding(
    installation: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert invoke(["audit", "replay", "d-exits"]) == 5
    said = capsys.readouterr().err
    assert said.startswith("concord: unavailable: Temporal is unreachable"), said


def test_a_version_the_decision_never_had_is_not_found(
    installation: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert invoke(["audit", "state", "d-exits", "--version", str(installation)]) == 0
    assert invoke(["audit", "state", "d-exits", "--version", "9999"]) == 4
    assert f"d-exits has {installation} events: it has no version 9999" in capsys.readouterr().err


def test_an_instant_before_1900_is_refused_as_commands_refuse_it(
    installation: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert invoke(["audit", "history", "d-exits", "--as-of", "1899-12-31T00:00:00Z"]) == 2
    assert "as-of: must be no earlier than 1900-01-01" in capsys.readouterr().err
    assert invoke(["audit", "history", "d-exits", "--as-of", "1900-01-01"]) == 0


def test_a_body_is_told_what_it_owes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from store.projections import ProjectionRunner
    from store.read_models import DecisionsProjection

    url = f"sqlite+aiosqlite:///{tmp_path / 'concord.db'}"

    async def grown() -> None:
        await upgrade(url)
        store = await open_store(url)
        try:
            await record(store, Scenario("d-body").planned())
            await ProjectionRunner(store, [DecisionsProjection()]).catch_up()
        finally:
            await store.close()

    asyncio.run(grown())
    monkeypatch.setenv("CONCORD_DATABASE_URL", url)
    monkeypatch.setenv("CONCORD_DATA_DIR", str(tmp_path))
    assert invoke(["pending", "--member", "PC", "--json"]) == 0
    owed = json.loads(capsys.readouterr().out)["pending"]
    assert [(row["decision_id"], row["item_id"]) for row in owed] == [("d-body", "A3")]
    assert invoke(["pending", "--member", "NOBODY"]) == 4
    assert "no member or body 'NOBODY'" in capsys.readouterr().err
