"""The lifecycle benchmark runs at a smoke size, so it cannot rot between the runs by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).parents[2]


def test_the_lifecycle_benchmark_measures_every_phase_against_its_baseline() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "lifecycle.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in result.stdout.splitlines() if line.startswith("| ")]
    measured = {(r[0].strip(), r[1].strip()): r for r in rows if len(r) == 10}
    assert set(measured) >= {
        ("lifecycles", "concord"),
        ("lifecycles", "activity"),
        ("lifecycles", "local"),
        ("lone action", "concord"),
        ("lone action", "activity"),
        ("lone action", "local"),
        ("simultaneous round", "concord"),
        ("simultaneous round", "serialised"),
    }
    concord = measured[("lifecycles", "concord")]
    assert float(concord[2]) > 0 and float(concord[6]) > 30, "lifecycles/s; history events"
    ratios = [r for r in rows if len(r) == 4 and r[0].strip().startswith(("lifecycles", "lone"))]
    assert len(ratios) == 4 and all(r[1].strip().endswith("x") for r in ratios)


def test_the_long_lives_benchmark_measures_runs_status_and_the_workers_memory() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "long_lives.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr[-3000:]
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
