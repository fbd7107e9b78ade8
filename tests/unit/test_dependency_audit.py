"""CI's dependency audit fails on a fixable known vulnerability and never passes silently when
it could not look anything up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]
AUDIT = ROOT / ".ci" / "audit-dependencies"


def audit(report: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    given = tmp_path / "report.json"
    given.write_text(json.dumps(report))
    return subprocess.run(
        [sys.executable, str(AUDIT), "--from-json", str(given)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def dependency(name: str, *vulns: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "version": "1.0", "vulns": list(vulns)}


def test_a_known_vulnerability_with_a_fix_fails_the_run_naming_it(tmp_path: Path) -> None:
    fixable = {"id": "GHSA-xxxx", "fix_versions": ["1.0.1"], "aliases": []}
    done = audit({"dependencies": [dependency("jinja2", fixable), dependency("httpx")]}, tmp_path)
    assert done.returncode == 1
    assert "known vulnerability with a fix: jinja2 1.0: GHSA-xxxx fixed in 1.0.1" in done.stdout


def test_a_vulnerability_without_a_fix_is_listed_and_does_not_fail(tmp_path: Path) -> None:
    unfixed = {"id": "PYSEC-1", "fix_versions": [], "aliases": []}
    done = audit({"dependencies": [dependency("pyyaml", unfixed)]}, tmp_path)
    assert done.returncode == 0
    assert "pyyaml 1.0: PYSEC-1 no fixed release yet" in done.stdout


def test_a_database_that_answers_nothing_is_said_in_words_not_passed(tmp_path: Path) -> None:
    skipped = [
        {"name": name, "skip_reason": f"Dependency not found on PyPI: {name}"}
        for name in ("httpx", "jinja2")
    ]
    done = audit({"dependencies": skipped, "fixes": []}, tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("dependency audit NOT DONE: none of the 2 dependencies")
    assert "no fixable vulnerability" not in done.stdout


def test_a_clean_audit_says_how_many_it_checked(tmp_path: Path) -> None:
    done = audit({"dependencies": [dependency("httpx"), dependency("jinja2")]}, tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == "dependency audit: 2 dependencies, no fixable vulnerability"
