"""A council of its own: a five-member council's file imported into a fresh `concord dev`,
and a decision's whole life in it through the CLI, with no NRC data involved."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, running_stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MEMBERS = ["DNK", "FIN", "ISL", "NOR", "SWE"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("concord-council"), testing_council=False
    ) as running:
        yield running


def test_a_five_member_council_from_its_own_file_runs_a_decisions_whole_life(
    stack: Stack, tmp_path: Path
) -> None:
    council_file = tmp_path / "nordic.yaml"
    assert stack.concord("council", "init", str(council_file)).returncode == 0
    assert stack.concord("council", "validate", str(council_file)).returncode == 0

    # A decision in flight in the NRC relies on its body and members: a council without them
    # is refused, naming the decision, until that decision is closed.
    stack.proposed("d-in-flight")
    refused_import = stack.fails(3, "council", "import", str(council_file))
    assert "the council would lack what 1 decision(s) in flight rely on" in refused_import
    assert "d-in-flight: area crisis_management, body NRC-AMB, member USA" in refused_import
    assert stack.ok("council", "show")["code"] == "NRC"
    stack.ok("withdraw", "d-in-flight", "--as", "USA", "--reason", "Overtaken by events")
    listed: list[str] = ["proposed"]
    for _ in range(100):
        listed = [d["state"] for d in stack.ok("list")["decisions"]]
        if listed == ["withdrawn"]:
            break
        time.sleep(0.1)
    assert listed == ["withdrawn"]

    imported = stack.ok("council", "import", str(council_file))
    assert imported["council"] == "NORDIC" and imported["schedules"] == "synced"
    types = [e["type"] for e in imported["events"]]
    assert types[:4] == [
        "CouncilFileImported",
        "CouncilConstituted",
        "CouncilScopeDefined",
        "RosterVersionAdopted",
    ]
    assert types.count("BodyEstablished") == 3
    assert stack.ok("council", "import", str(council_file))["events"] == []
    assert stack.ok("council", "show")["code"] == "NORDIC"
    schedules = {s["body"]: s["outcome"] for s in stack.ok("meetings", "sync")["schedules"]}
    assert schedules == {"NORDIC-AMB": "unchanged", "PC": "unchanged"}  # the import synced them
    roster = stack.ok("roster", "show")
    assert sorted(m["code"] for m in roster["members"]) == MEMBERS

    stack.ok(
        "propose",
        "--id",
        "n-1",
        "--as",
        "NOR",
        "--title",
        "Joint search and rescue exercise",
        "--area",
        "search_and_rescue",
        "--text",
        "The members hold a joint search and rescue exercise each year.",
    )
    refused = stack.fails(
        3, "propose", "--id", "n-2", "--as", "RUS", "--title", "t", "--area", "crisis_management",
        "--text", "x",
    )  # fmt: skip
    assert "not on roster" in refused
    stack.ok("refer", "n-1")
    stack.ok("review", "n-1", "--outcome", "forward", "--as", "PC")
    short = stack.fails(3, "open-round", "n-1", "--deadline", "1h")
    assert "NORDIC-AMB lasts at least 1 day (its minimum silence period)" in short
    opened = stack.ok("open-round", "n-1", "--deadline", "2d")
    assert opened["event_types"] == ["ConsensusRoundOpened"]
    status = stack.ok("status", "n-1")
    assert status["body"] == "NORDIC-AMB"
    assert status["rounds"][0]["members"] == MEMBERS
    for member in MEMBERS:
        stack.ok("concur", "n-1", "--as", member)
    status = stack.status_when("n-1", lambda s: s["state"] == "adopted")
    assert status["rounds"][0]["outcome"] == "adopted_by_unanimous_concurrence"
    stack.ok(
        "plan",
        "n-1",
        "--item",
        "A1:all:Hold the exercise",
        "--item",
        "A2:ISL:Host the exercise",
        "--monitoring-body",
        "PC",
        "--report-back",
        "180d",
    )
    stack.ok("report", "n-1", "--as", "ISL", "--item", "A2", "--summary", "Host named")
    stack.ok("raise-issue", "n-1", "--as", "SWE", "--title", "Uneven contributions")
    stack.ok(
        "resolve-issue", "n-1", "--issue", "1", "--text", "Share costs equally", "--deadline", "2d"
    )
    for member in MEMBERS:
        stack.ok("concur", "n-1", "--as", member)
    stack.status_when("n-1", lambda s: s["implementation_issues"][0]["open"] is False)
    stack.ok("complete-item", "n-1", "--as", "ISL", "--item", "A2")
    stack.ok("complete-item", "n-1", "--as", "PC", "--item", "A1")
    stack.ok("complete", "n-1", "--summary", "Exercise held")
    assert stack.ok("status", "n-1")["state"] == "completed"

    history = stack.ok("audit", "history", "n-1")
    text = json.dumps(history)
    assert "NRC" not in text and "RUS" not in text
    assert stack.ok("audit", "verify")["ok"] is True
    assert stack.ok("audit", "replay", "n-1")["ok"] is True
