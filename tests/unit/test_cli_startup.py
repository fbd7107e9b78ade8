"""`concord` starts without what its commands need: asking for help, or for one command's help,
imports neither Temporal's SDK nor the database's, the API's or the log's cryptography; the list
of commands imports none of them, and reading the settings does not import what checks them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
import typer

from audit import merkle
from audit.checkpoint import Checkpoint, InclusionProof, b64
from audit.note import Signer
from audit.witness import Witness
from cli.app import AUDIT, COMMANDS, GROUPS, app, help_line
from domain.declarations import DECLARED
from tests.ports import free_port

HEAVY = ("temporalio", "sqlalchemy", "fastapi", "uvicorn", "httpx", "cryptography", "alembic")
LISTING = ("pydantic", "rich", "typer.rich_utils", "dateutil", "yaml")
"""What the commands' modules bring (the domain's models, rich's console) and the list of
commands does without: it is printed by click's formatter, from cli.app's help lines."""
STARTS_WITH = (
    "cli",
    "cli.app",
    "domain",
    "domain.declarations",
    "domain.errors",
    "runtime",
    "runtime.process",
)
"""The project's modules `concord` imports before it knows which command it runs."""
PROJECT = ("cli", "domain", "runtime", "store", "workflows", "activities", "audit", "api")
REPOSITORY = Path(__file__).resolve().parents[2]


def imported_by(
    probe: str, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> tuple[Any, str]:
    """What `probe` prints last, as JSON, run in an interpreter of its own; all it printed."""
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout


def run_cli(args: list[str], env: dict[str, str] | None = None) -> tuple[int, set[str], str]:
    """`concord args` in a process of its own (in `env`, if given): its exit code, the modules it
    imported, what it printed."""
    probe = (
        "import json, sys\n"
        "from cli.app import invoke\n"
        f"code = invoke({args!r})\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    (code, modules), printed = imported_by(probe, cwd=REPOSITORY if env else None, env=env)
    return code, set(modules), printed


@pytest.mark.parametrize(
    "args",
    [["--help"], ["concur", "--help"], ["status", "--help"], []],
    ids=["help", "concur-help", "status-help", "no-args"],
)
def test_the_cli_answers_help_without_importing_what_commands_need(args: list[str]) -> None:
    code, imported, printed = run_cli(args)
    assert code in (0, 2)
    assert "Usage: concord" in printed
    assert [m for m in HEAVY if m in imported] == [], f"`concord {' '.join(args)}` imported them"


@pytest.mark.parametrize("args", [["--help"], []], ids=["help", "no-args"])
def test_the_list_of_commands_imports_none_of_them(args: list[str]) -> None:
    code, imported, printed = run_cli(args)
    assert code in (0, 2)
    assert "status" in printed and "audit" in printed
    project = {m for m in imported if m.split(".")[0] in PROJECT}
    assert sorted(project - set(STARTS_WITH)) == []
    assert [m for m in LISTING if m in imported] == []


def test_a_commands_help_imports_its_own_module_alone() -> None:
    _, imported, printed = run_cli(["status", "--help"])
    assert "concord status" in printed and "cli.views" in imported
    others = [f"cli.{module}" for module in COMMANDS if module != "views"]
    assert [m for m in (*others, "cli.sending", "domain.commands") if m in imported] == []


def test_every_command_is_listed_with_the_first_paragraph_of_its_help() -> None:
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    context = typer.Context(group)
    for module, listed in COMMANDS.items():
        registered = import_module(f"cli.{module}").app.registered_commands
        names = {c.name or typer.main.get_command_name(c.callback.__name__) for c in registered}
        assert names == set(listed), f"cli.{module}'s commands are not those cli.app lists"
        for name, line in listed.items():
            command = group.get_command(context, name)
            assert command is not None and command.callback is not None, name
            assert help_line(command) == line, f"cli.app lists {name} with another help line"
    for declared in DECLARED:
        if declared.cli is not None:
            command = group.get_command(context, declared.cli.verb)
            assert command is not None and command.help is not None, declared.kind
            assert help_line(command) == declared.cli.help_line
            assert declared.cli.example in command.help
    for name, (line, _) in GROUPS.items():
        loaded = group.get_command(context, name)
        assert isinstance(loaded, typer.core.TyperGroup) and loaded.commands, name
        assert (loaded.name, loaded.help) == (name, line)


def test_every_audit_command_is_imported_from_the_module_that_registers_it() -> None:
    registered = [
        (info.name or typer.main.get_command_name(info.callback.__name__), module)
        for module in ("audit", "transparency", "checkpoints", "monitor")
        for info in import_module(f"cli.{module}").app.registered_commands
    ]
    assert len(registered) == len(dict(registered)), "two modules register the same command"
    assert dict(registered) == AUDIT, "cli.app's AUDIT is not what cli's modules register"


OFFLINE = ("sqlalchemy", "aiosqlite", "temporalio", "httpx", "fastapi", "uvicorn", "alembic")
"""What an audit command that reads neither the event store nor a served log does without."""
ON_THE_STORE = ("temporalio", "httpx", "fastapi", "uvicorn", "alembic")
"""What an audit command that reads the event store (SQLite here) does without."""


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty event store, migrated once for the module's tests to copy."""
    path = tmp_path_factory.mktemp("migrated") / "concord.db"
    migrated = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio\nfrom store.migrate import upgrade\n"
            f"asyncio.run(upgrade({f'sqlite+aiosqlite:///{path}'!r}))\n",
        ],
        cwd=REPOSITORY,
        capture_output=True,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr.decode()
    return path


@pytest.fixture
def auditor(tmp_path: Path, migrated: Path) -> dict[str, str]:
    """An installation's data directory (its log key, its empty store) and what an auditor holds:
    the log's verifier key, a checkpoint of the empty log, and an inclusion proof against another
    checkpoint of the log's, cosigned by the one witness of a policy."""
    key = Signer.generate("concord.test/log")
    data = tmp_path / "var"
    data.mkdir()
    (data / "log.key").write_text(key.encode() + "\n")
    shutil.copy(migrated, data / "concord.db")
    entries = [b"first", b"second"]
    leaves = [merkle.leaf_hash(entry) for entry in entries]
    text = Checkpoint(key.name, 2, merkle.root_of(leaves)).text()
    witness = Witness("witness.test/w", bytes(range(32)))
    proof = InclusionProof(
        checkpoint=key.sign(text) + witness.cosignature(text, 1_800_000_000).line(),
        position=1,
        index=0,
        entry=b64([entries[0]])[0],
        proof=b64([leaves[1]]),
    )
    files = {
        "vkey": key.verifier.encode(),
        "checkpoint": key.sign(Checkpoint(key.name, 0, merkle.EMPTY_ROOT).text()),
        "proof": proof.model_dump_json(),
        "policy": f"witness {witness.key.encode()}\nquorum 1\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return {name: str(tmp_path / name) for name in (*files, "state", "fresh")} | {"data": str(data)}


@pytest.mark.parametrize(
    ("args", "unwanted"),
    [
        # The list of commands imports their modules, not what runs them.
        (["audit", "--help"], ("temporalio", "fastapi", "uvicorn", "alembic")),
        (["audit", "verify", "--help"], HEAVY),
        # Its module signs and checks the log's notes: it imports their cryptography.
        (["audit", "check", "--help"], OFFLINE),
        (["audit", "keygen"], OFFLINE),
        (["audit", "pubkey"], OFFLINE),
        (["audit", "check", "{proof}", "--key", "{vkey}"], OFFLINE),
        (
            [
                "audit",
                "check",
                "{proof}",
                "--key",
                "{vkey}",
                "--policy",
                "{policy}",
                "--state",
                "{state}",
            ],
            OFFLINE,
        ),
        (["audit", "verify"], ON_THE_STORE),
        (["audit", "checkpoint"], ON_THE_STORE),
        (["audit", "prove", "--since", "{checkpoint}"], ON_THE_STORE),
    ],
    ids=[
        "audit-help",
        "verify-help",
        "check-help",
        "keygen",
        "pubkey",
        "check",
        "check-policy-state",
        "verify",
        "checkpoint",
        "prove",
    ],
)
def test_an_audit_command_imports_what_it_needs_alone(
    args: list[str], unwanted: tuple[str, ...], auditor: dict[str, str]
) -> None:
    """`concord audit X` imports the module that holds X, and of that what X needs: keygen,
    pubkey and check, neither the store nor HTTP; the commands on the store, not Temporal."""
    data = auditor["fresh"] if args[1] == "keygen" else auditor["data"]  # keygen makes a key
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    env |= {"CONCORD_DATA_DIR": data}
    code, imported, printed = run_cli([a.format(**auditor) for a in args], env)
    assert code == 0, printed
    if "--help" not in args:
        assert printed.strip(), "it printed nothing"
    assert [m for m in unwanted if m in imported] == [], f"`concord {' '.join(args)}` imported them"


def test_reading_the_settings_imports_neither_http_nor_the_database_nor_cryptography(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    env |= {"CONCORD_DATA_DIR": str(tmp_path / "var"), "PYTHONPATH": str(REPOSITORY)}
    probe = (
        "import json, sys\n"
        "from runtime.settings import load_settings\n"
        "load_settings()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    imported, _ = imported_by(probe, cwd=tmp_path, env=env)
    unwanted = ("httpx", "sqlalchemy", "cryptography", "activities", "audit", "store")
    assert [m for m in imported if m.split(".")[0] in unwanted] == []


def test_opening_the_store_and_its_council_imports_no_migration_tool(tmp_path: Path) -> None:
    """What the commands that read the store open (the event store, checked against the schema
    its code needs, and the council in force) reads the schema's revision without importing
    Alembic, and a SQLite store imports neither PostgreSQL's driver nor SQLAlchemy's PostgreSQL
    dialect."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'concord.db'}"
    migrated = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import asyncio\nfrom store.migrate import upgrade\nasyncio.run(upgrade({url!r}))\n",
        ],
        cwd=REPOSITORY,
        capture_output=True,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr.decode()
    probe = (
        "import asyncio, json, sys\n"
        "from store.councils import Councils\n"
        "from store.eventstore import open_store\n"
        "async def main():\n"
        f"    store = await open_store({url!r})\n"
        "    await Councils(store).roster_book()\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    imported, _ = imported_by(probe, cwd=REPOSITORY)
    postgresql = [m for m in imported if m.startswith("sqlalchemy.dialects.postgresql")]
    assert [m for m in imported if m.split(".")[0] in ("alembic", "asyncpg")] + postgresql == []


def test_status_on_a_sqlite_store_imports_neither_sqlalchemy_nor_rich(tmp_path: Path) -> None:
    """`concord status` on the default store reads its file with sqlite3 (store.file_reader)
    and prints its lines without rich: the two imports were most of its start-up."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'concord.db'}"
    recorded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import asyncio\n"
            "from store import decision_events\n"
            "from store.eventstore import open_store\n"
            "from store.migrate import upgrade\n"
            "from tests.unit.domain.scenario import Scenario\n"
            "async def main():\n"
            f"    await upgrade({url!r})\n"
            f"    store = await open_store({url!r})\n"
            "    scenario = Scenario('d-fast').adopted()\n"
            "    new = [decision_events.new_event(e) for e in scenario.events]\n"
            "    await store.append('d-fast', 0, new)\n"
            "    await store.close()\n"
            "asyncio.run(main())\n",
        ],
        cwd=REPOSITORY,
        capture_output=True,
        check=False,
    )
    assert recorded.returncode == 0, recorded.stderr.decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    env |= {"CONCORD_DATABASE_URL": url, "CONCORD_DATA_DIR": str(tmp_path)}
    probe = (
        "import json, sys\n"
        "from cli.app import invoke\n"
        "code = invoke(['status', 'd-fast'])\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    (code, imported), printed = imported_by(probe, cwd=REPOSITORY, env=env)
    assert code == 0 and "d-fast" in printed and "concurred (" in printed, printed
    assert [m for m in imported if m.split(".")[0] in ("sqlalchemy", "rich", "temporalio")] == []


def test_a_members_answer_is_sent_without_importing_the_store(tmp_path: Path) -> None:
    """A member's answer goes to Temporal without SQLAlchemy, a fifth of each answer's start-up:
    the store is opened only to keep a refusal or to read a proposal's rosters. Temporal is not
    running here, so the command stops at its connection, with everything it sends with
    imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    env |= {
        "CONCORD_DATA_DIR": str(tmp_path),
        "CONCORD_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
    }
    probe = (
        "import json, sys\n"
        "from cli.app import invoke\n"
        "code = invoke(['concur', 'd-1', '--as', 'USA', '--round', '1', '--text-hash', "
        f"'sha256:{'0' * 64}'])\n"
        "print(json.dumps([code, sorted(sys.modules)]), flush=True)\n"
        # As `concord` leaves once Temporal's SDK is loaded (runtime.process.leave).
        "from runtime.process import leave\n"
        "leave(0)\n"
    )
    (code, modules), printed = imported_by(probe, cwd=REPOSITORY, env=env)
    assert code == 5, printed
    assert {"runtime.commands", "runtime.decisions", "temporalio.client"} <= set(modules)
    assert [m for m in modules if m.split(".")[0] in ("sqlalchemy", "aiosqlite", "asyncpg")] == []
