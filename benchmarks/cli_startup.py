"""CLI start-up benchmark: `concord --help` and `concord status ID`, each timed as a whole
process (interpreter start, imports, the command's work, exit), this tree's against another's.

A run is one `python` process that imports the CLI from the tree named on its PYTHONPATH (the
editable install's import hook is left out, so each tree imports its own code). With --vs, the
two trees run in turn, A B A B ..., and the ratio A/B is taken pair by pair, so a machine whose
speed drifts during the benchmark moves both alike. `status` reads the decision from the store
the environment names (CONCORD_DATA_DIR or CONCORD_DATABASE_URL, given as absolute paths: the
runs start in a directory of their own), e.g. of a running `concord dev`.

Run by hand (not a test), e.g.:
    .venv/bin/python benchmarks/cli_startup.py --runs 10 --vs /tmp/concord-before \\
        --decision d-bench
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sections import machine, replace_section

ROOT = Path(__file__).parents[1]
RUN_CLI = (
    "import sys\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]\n"
    "from cli.app import main\n"
    "main()\n"
)
"""The `concord` entry point, importing `cli` from the tree on PYTHONPATH."""


def wall_seconds(tree: Path, args: list[str], where: Path) -> float:
    """One run of `concord args` from `tree`, start to exit; it must succeed."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUN_CLI, *args],
        env=env,
        cwd=where,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"concord {' '.join(args)} from {tree} failed: {done.stderr.decode()}")
    return elapsed


def spread(seconds: list[float]) -> str:
    return f"{statistics.median(seconds):.3f} ({min(seconds):.3f} to {max(seconds):.3f})"


def measure(args: list[str], runs: int, trees: list[Path], where: Path) -> list[str]:
    """A table row for `concord args`: each tree's median wall time (min to max), and with two
    trees the median of the pairs' ratios."""
    for tree in trees:
        wall_seconds(tree, args, where)  # warm-up: the page cache, not a figure
    timings: list[list[float]] = [[] for _ in trees]
    for _ in range(runs):
        for tree, timed in zip(trees, timings, strict=True):
            timed.append(wall_seconds(tree, args, where))
    cells = [f"`concord {' '.join(args)}`", *(spread(timed) for timed in timings)]
    if len(timings) == 2:
        ratios = [a / b for a, b in zip(*timings, strict=True)]
        cells.append(f"{statistics.median(ratios):.2f}")
    return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each command")
    parser.add_argument("--vs", type=Path, help="the tree to compare with (B), e.g. a worktree")
    parser.add_argument("--decision", help="the decision `status` shows (none: --help alone)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    arguments = parser.parse_args(argv)
    trees = [ROOT, *([arguments.vs.resolve()] if arguments.vs else [])]
    commands = [["--help"], *([["status", arguments.decision]] if arguments.decision else [])]
    with tempfile.TemporaryDirectory() as where:
        rows = [measure(args, arguments.runs, trees, Path(where)) for args in commands]
    header = [
        "command",
        f"A: {ROOT.name}",
        *(["B: " + trees[1].name, "A/B"] if arguments.vs else []),
    ]
    lines = [
        f"Machine: {machine()}. Wall seconds, median (min to max) of {arguments.runs} runs"
        + (", A and B in turn; A/B the median of the pairs' ratios." if arguments.vs else "."),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    print("\n".join(lines))
    if not arguments.no_write:
        replace_section("cli startup benchmark", lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
