"""`concord doctor` names each decision in flight that relies on a body, level, area or member
the council in force lacks, and then does not call the installation sound."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from cli.app import invoke
from cli.findings import council_findings
from domain.council import checked_council
from runtime.bootstrap import projector
from store.councils import Councils, file_digest
from store.decision_events import new_event
from store.eventstore import open_store
from tests.shutdown import stopped
from tests.stores import migrated_sqlite
from tests.temporal import DEV_SERVER, binary
from tests.unit.domain.scenario import Scenario
from tests.unit.domain.test_councils import NOW, nordic

LEFT = "ISL"
"""The member the council in force no longer has, who proposed the decision in flight."""


def without_the_member_who_left() -> dict[str, Any]:
    document = nordic()
    document["members"] = [m for m in document["members"] if m["code"] != LEFT]
    for roster in document["rosters"]:
        roster["members"] = [m for m in roster["members"] if m != LEFT]
    for body in document["bodies"]:
        if "members" in body:
            body["members"] = [m for m in body["members"] if m != LEFT]
    return document


@pytest.fixture
async def stranded_store(tmp_path: Path) -> str:
    """A store whose council in force lost a member after a decision it proposed was recorded,
    its read model caught up."""
    url = await migrated_sqlite(tmp_path / "concord.db")
    store = await open_store(url)
    try:
        council = checked_council(without_the_member_who_left())
        await Councils(store).import_council(
            council, "nordic.yaml", file_digest("nordic"), "operator:secretariat"
        )
        decision = Scenario("d-stranded", NOW, checked_council(nordic()).roster_book())
        decision.proposed(proposer=LEFT)
        await store.append(decision.decision_id, 0, [new_event(e) for e in decision.events])
        await projector(store).catch_up()
    finally:
        await stopped(f"the event store at {url}", store.close())
    return url


@pytest.fixture
async def temporal() -> AsyncIterator[str]:
    """The address of a Temporal dev server of the test's own, with no decision's runs."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary(DEV_SERVER),
        data_converter=pydantic_data_converter,
        ui=False,
    )
    address = env.client.service_client.config.target_host
    try:
        yield address
    finally:
        await stopped(f"the Temporal dev server at {address}", env.shutdown())


async def test_the_findings_name_each_decision_the_council_in_force_strands(
    stranded_store: str,
) -> None:
    store = await open_store(stranded_store)
    try:
        found = await council_findings(store)
    finally:
        await store.close()
    assert found["council"] == "NORDIC"
    assert found["stranded_decisions"] == [f"d-stranded: member {LEFT}"]
    assert found["waiting_on_missing_bodies"] == []  # its body sits on: only its proposer left


@pytest.mark.e2e
def test_the_doctor_is_not_sound_while_a_decision_relies_on_what_the_council_lacks(
    stranded_store: str,
    temporal: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CONCORD_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CONCORD_DATABASE_URL", stranded_store)
    monkeypatch.setenv("CONCORD_TEMPORAL_ADDRESS", temporal)

    assert invoke(["doctor"]) == 1
    said = capsys.readouterr().out
    assert f"stranded: d-stranded: member {LEFT} (what council NORDIC in force lacks)" in said
    assert "sound" not in said.splitlines()

    assert invoke(["doctor", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["stranded_decisions"] == [f"d-stranded: member {LEFT}"]
