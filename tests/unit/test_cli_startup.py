"""`concord` starts without what its commands need: asking for help, or for one command's help,
imports neither Temporal's SDK nor the database's, the API's or the log's cryptography."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("temporalio", "sqlalchemy", "fastapi", "uvicorn", "httpx", "cryptography", "alembic")


@pytest.mark.parametrize(
    "args",
    [["--help"], ["concur", "--help"], ["status", "--help"], []],
    ids=["help", "concur-help", "status-help", "no-args"],
)
def test_the_cli_answers_help_without_importing_what_commands_need(args: list[str]) -> None:
    probe = (
        "import json, sys\n"
        "from cli.app import invoke\n"
        f"code = invoke({args!r})\n"
        f"print(json.dumps([code, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    code, imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert code in (0, 2), done.stderr
    assert "Usage: concord" in done.stdout
    assert imported == [], f"`concord {' '.join(args)}` imported {imported}"
