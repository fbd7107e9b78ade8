"""The benchmarks run at a smoke size, so that they cannot rot between the runs by hand."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).parents[2]


def smoke(benchmark: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`benchmarks/<benchmark>.py` with `arguments` (a smoke size): it must succeed."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{benchmark}.py"), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_the_lifecycle_benchmark_measures_every_phase_against_its_baseline() -> None:
    result = smoke("lifecycle", "--smoke")
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ")]
    measured = {(r[0].strip(), r[1].strip()): r for r in rows if len(r) == 13}
    assert set(measured) >= {
        ("lifecycles", "concord"),
        ("lifecycles", "activity"),
        ("lifecycles", "local"),
        ("lone action", "concord"),
        ("lone action", "activity"),
        ("lone action", "local"),
        ("lone action", "sandboxed-local"),
        ("simultaneous round", "concord"),
        ("simultaneous round", "serialised"),
    }
    concord = measured[("lifecycles", "concord")]
    assert float(concord[2]) > 0 and float(concord[6]) > 30, "lifecycles/s; history events"
    # The CPU each process spent per lifecycle: the dev server's, the worker's, the projector's,
    # the client's (this benchmark's own), and all of theirs.
    least = [float(concord[c].split("-")[0].replace(",", "")) for c in (7, 8, 9, 10, 11)]
    assert all(cpu > 0 for cpu in least), concord
    assert least[4] >= sum(least[:4]) * 0.99, "all the processes' CPU is their sum"
    assert float(measured[("lifecycles", "local")][9]) == 0, "the bare shape has no projector"
    ratios = [r for r in rows if len(r) == 5 and r[0].strip().startswith(("lifecycles", "lone"))]
    assert len(ratios) == 5 and all(c.strip().endswith("x") for r in ratios for c in r[1:])


def test_one_lifecycle_of_each_shape_by_history_event_and_request_served() -> None:
    result = smoke("lifecycle", "--shape")
    rows = {
        cells[0]: tuple(cells[1:])
        for line in result.stdout.splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.split("|")[1:-1]])
    }
    assert rows["WORKFLOW_EXECUTION_UPDATE_ACCEPTED"][:2] == ("37", "36")
    # Each history weighed by its events' bytes, by type: a type its history holds weighs
    # something, one it lacks nothing, and the types' bytes add up to the whole.
    by_type = [row for name, row in rows.items() if name.isupper()]
    for side in (0, 1):
        for row in by_type:
            assert (int(row[side]) > 0) == (int(row[side + 2].replace(",", "")) > 0)
        weighed = sum(int(row[side + 2].replace(",", "")) for row in by_type)
        assert int(rows["all"][side + 2].replace(",", "")) == weighed
    # Each of the lifecycle's commands but the proposal is one update; the proposal starts the
    # decision with its first update, the bare shape's start is a start alone.
    assert rows["UpdateWorkflowExecution"] == ("36", "36")
    assert rows["ExecuteMultiOperation"] == ("1", "0")
    assert rows["GetWorkflowExecutionHistory"][0] == "1", "the closed run archived once"


def test_the_server_costs_benchmark_measures_each_extra_against_the_bare_shape() -> None:
    result = smoke("server_costs", "--smoke")
    rows = {
        cells[0]: cells[1:]
        for line in result.stdout.splitlines()
        if line.startswith("| ") and len(cells := [c.strip() for c in line.split("|")[1:-1]]) == 7
    }
    named = ["bare local shape", "+ payloads", "+ upserts", "+ timers", "+ start-update"]
    assert [*named, "+ archive", "+ all of them"] == [n for n in rows if n[0] in "+b"]
    for name in named:
        assert float(rows[name][0].split(" ")[0]) > 0, f"{name}: the server's CPU measured"
    # Each extra is in the history as the lifecycle benchmark finds it in a decision's.
    bare, timers, upserts = rows["bare local shape"], rows["+ timers"], rows["+ upserts"]
    assert (bare[4], bare[5]) == ("0, 0", "0")
    assert (timers[4], upserts[5]) == ("2, 1", "3")
    assert rows["+ all of them"][4:] == ["2, 1", "3"]
    weight = {n: int(cells[3].replace(",", "")) for n, cells in rows.items() if n[0] in "+b"}
    # The padding's bytes, within what the workflow tasks' batching changes from run to run.
    padded = 36 * (294 + 388)
    assert abs(weight["+ payloads"] - weight["bare local shape"] - padded) < padded * 0.05


def test_the_api_benchmark_measures_the_api_beside_the_decision_client() -> None:
    result = smoke("api_bench", "--smoke")
    rows = [
        [c.strip() for c in line.split("|")[1:-1]]
        for line in result.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| path")
    ]
    paths = [row[0] for row in rows]
    assert paths == ["warm-up", "API", "decision client", "API, every answer at once"]
    for row in rows:
        assert row[5] == "0", f"{row[0]}: no 5xx"
        assert float(row[2]) > 0 and int(row[1]) > 0
    assert "answered 201." in result.stdout
    assert all(code == "201" for code in re.findall(r"answered (\d+)", result.stdout))


def test_the_activations_benchmark_replays_the_committed_histories_every_way() -> None:
    result = smoke("activations", "--rounds", "1", "--copies", "1")
    lines = result.stdout.splitlines()
    assert "activations a replay" in lines[0]
    ways = [line for line in lines[1:] if " us CPU an activation " in line]
    assert len(ways) == 4 and ways[0].rstrip().endswith("1.00x")


def test_the_long_lives_benchmark_measures_runs_status_and_the_workers_memory() -> None:
    result = smoke("long_lives", "--smoke")
    rows = {
        cells[0].strip(): cells[1].strip()
        for line in result.stdout.splitlines()
        if line.startswith("| ") and len(cells := line.split("|")[1:-1]) == 2
    }
    assert rows["progress reports"].startswith("60 ")
    assert rows["runs (continue-as-new)"] == "1"
    assert rows["longest run's history"].endswith(" events")
    assert "target ≤ 50 ms" in rows["state from the read model and the log (API, CLI): p50 / p95"]
    assert "target ≤ 50 ms" in rows["status query, worker holding the decision: p50 / p95"]
    assert rows["open decisions, each with a round open"].startswith("3 ")
    assert "MiB" in rows["worker RSS before / after"]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_scale_benchmark_times_every_question_of_the_read_models_and_shows_its_plan(
    backend: str,
) -> None:
    result = smoke("scale", "--smoke", "--backend", backend)
    assert "building 120 decisions and 9,000 events" in result.stdout
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ")]
    timed = {row[0].strip(): row for row in rows[2:] if len(row) == 5}
    assert {label.split(",")[0] for label in timed} >= {
        "list",
        "list --state under_consensus",
        "list --member RUS",
        "pending --member RUS",
    }
    assert int(timed["pending --member RUS"][1].replace(",", "")) > 0
    plan = result.stdout.split("pending --member RUS:\n")[-1].split("\n\n")[0]
    assert "owed_actions" in plan, plan
