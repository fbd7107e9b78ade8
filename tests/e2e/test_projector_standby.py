"""One projector follows the log and a second stands by: killed, the active one is replaced
within seconds, no event is applied twice, and `concord doctor` sees a projector that stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from temporalio.testing import WorkflowEnvironment

from audit.checkpoint import Checkpoint
from audit.note import Signer
from audit.tree import caught_up as caught_up_tree
from audit.verify import verify_log
from cli.findings import SILENT_PROJECTOR_S
from domain.evolve import replay
from domain.state import DecisionState
from runtime.bootstrap import PROJECTOR_LEASE, projector
from store.decision_events import new_event
from store.eventstore import EventStore, open_store
from store.hashing import format_instant
from store.schema import decision_states, leases
from tests.e2e.conftest import CONCORD
from tests.integration.store.raw_sql import raw_transaction
from tests.integration.workflows.test_checkpoints import edited_in_place
from tests.pg import require_postgres, shown
from tests.shutdown import stopped
from tests.unit.domain.scenario import Scenario

pytestmark = pytest.mark.slow

TAKEOVER_LIMIT_S = 15.0
"""The standby's takeover: five seconds of silence, then its next look (half a second)."""


@contextlib.contextmanager
def projectors(url: str, logs: Path, count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` processes of `concord project` on the store at `url`; stopped on the way out."""
    env = os.environ | {"CONCORD_DATABASE_URL": url, "CONCORD_LOG_FORMAT": "json"}
    started: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(count):
            with (logs / f"projector-{n}.log").open("ab") as out:
                started.append(
                    subprocess.Popen([CONCORD, "project"], env=env, stdout=out, stderr=out)
                )
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait(10)


@contextlib.asynccontextmanager
async def opened(url: str) -> AsyncIterator[EventStore]:
    store = await open_store(url)
    try:
        yield store
    finally:
        await stopped(f"the event store at {shown(url)}", store.close())


async def record(store: EventStore, scenario: Scenario) -> None:
    version = await store.stream_version(scenario.decision_id)
    await store.append(
        scenario.decision_id,
        version,
        [new_event(event) for event in scenario.events[version:]],
    )


async def caught_up(store: EventStore, within: float) -> float:
    """Seconds until every projection has applied the whole log; fails past `within`."""
    started = time.monotonic()
    runner = projector(store)
    head, _ = await store.head()
    while True:
        positions = [await runner.position(name) for name in runner.projections]
        if all(position == head for position in positions):
            return time.monotonic() - started
        assert time.monotonic() - started < within, f"positions {positions}, head {head}"
        await asyncio.sleep(0.1)


async def holder_pid(store: EventStore, within: float = 20) -> int:
    deadline = time.monotonic() + within
    while (lease := await store.leases.lease(PROJECTOR_LEASE)) is None:
        assert time.monotonic() < deadline, "no projector took the lease"
        await asyncio.sleep(0.1)
    return int(lease.holder.split(":")[1])


async def test_the_standby_projector_takes_over_when_the_active_one_is_killed(
    store_url: str, tmp_path: Path
) -> None:
    first, second = Scenario("d-standby-1").round_open(), Scenario("d-standby-2").adopted()
    with projectors(store_url, tmp_path, 2) as running:
        async with opened(store_url) as store:
            active = await holder_pid(store)
            assert active in {p.pid for p in running}
            await record(store, first)
            await caught_up(store, within=20)

            [killed] = [p for p in running if p.pid == active]
            [standby] = [p for p in running if p.pid != active]
            killed.send_signal(signal.SIGKILL)
            killed.wait(10)
            await record(store, second)
            took = await caught_up(store, within=TAKEOVER_LIMIT_S)
            assert await holder_pid(store) == standby.pid
            assert standby.poll() is None

            states = {
                row.decision_id: DecisionState.model_validate_json(row.state_json)
                for row in await store.tables.rows(decision_states.select())
            }
            report = await verify_log(store)
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(30) == 0

    # Each decision's row is the domain's fold of its events, each applied once, and the
    # Merkle tree's stored subtrees are those of the log's entries.
    for scenario in (first, second):
        assert states[scenario.decision_id] == replay(scenario.events)
    assert report.ok, report.first_break
    assert took < TAKEOVER_LIMIT_S
    log = (tmp_path / f"projector-{running.index(standby)}.log").read_text()
    assert "projector holds its lease" in log


def doctor(
    url: str, temporal: WorkflowEnvironment, more: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = (
        os.environ
        | (more or {})
        | {
            "CONCORD_DATABASE_URL": url,
            "CONCORD_TEMPORAL_ADDRESS": temporal.client.service_client.config.target_host,
            "CONCORD_LOG_FORMAT": "json",
        }
    )
    return subprocess.run([CONCORD, "doctor"], env=env, capture_output=True, text=True, timeout=120)


async def test_the_doctor_finds_a_projector_that_never_ran_or_stopped_while_events_wait(
    store_url: str, tmp_path: Path, dev_server: WorkflowEnvironment
) -> None:
    async with opened(store_url) as store:
        await record(store, Scenario("d-doctor-never").proposed())
    never = doctor(store_url, dev_server)
    assert never.returncode == 1, never.stdout + never.stderr
    assert "stopped: no projector has ever followed the log, and 1 events wait" in never.stdout

    with projectors(store_url, tmp_path, 1) as [running]:
        async with opened(store_url) as store:
            await holder_pid(store)
            await caught_up(store, within=20)
            # The dev server is shared, so other findings (runs of other tests' decisions)
            # may be there: the projector's is not.
            following = doctor(store_url, dev_server)
            assert "The projector" in following.stdout, following.stdout + following.stderr
            assert "stopped:" not in following.stdout
            running.send_signal(signal.SIGKILL)
            running.wait(10)
            await record(store, Scenario("d-doctor-stopped").proposed())
    # Its last beat moved back past the silence after which a projector counts as stopped,
    # rather than waiting that long: the doctor reads the beat's wall-clock time from the row.
    long_ago = datetime.now(UTC) - timedelta(seconds=SILENT_PROJECTOR_S + 1)
    async with raw_transaction(store_url) as connection:
        await connection.execute(
            update(leases)
            .where(leases.c.name == PROJECTOR_LEASE)
            .values(beat_at=format_instant(long_ago))
        )
    stopped = doctor(store_url, dev_server)
    assert stopped.returncode == 1
    assert "stopped: the projector last beat" in stopped.stdout, stopped.stdout


async def test_the_doctor_names_decisions_that_wait_on_a_body_the_council_no_longer_has(
    store_url: str, tmp_path: Path, dev_server: WorkflowEnvironment
) -> None:
    # An import that would strand a decision in flight is refused; a decision recorded after
    # the council changed (one whose workflow began before the import) is stranded all the same.
    env = os.environ | {"CONCORD_DATABASE_URL": store_url, "CONCORD_OPERATOR": "secretariat"}
    council = tmp_path / "nordic.yaml"
    for args in (("init", str(council)), ("import", str(council))):
        made = subprocess.run(
            [CONCORD, "council", *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert made.returncode == 0, made.stderr
    async with opened(store_url) as store:
        forwarded = Scenario("d-doctor-body").forwarded()
        await record(store, forwarded)
        await projector(store).catch_up()

    found = doctor(store_url, dev_server)
    assert found.returncode == 1
    assert f"no such body: d-doctor-body (in_review) waits on {forwarded.s.body}," in found.stdout
    assert "stranded: d-doctor-body: area struggle_against_terrorism, body NRC-AMB" in found.stdout


@pytest.mark.postgres
async def test_the_doctor_says_in_one_line_that_a_database_does_not_exist(
    dev_server: WorkflowEnvironment,
) -> None:
    database = "concord_misspelt"
    url = (await require_postgres()).set(database=database).render_as_string(hide_password=False)
    found = doctor(url, dev_server)
    assert found.returncode == 5, found.stderr
    assert found.stderr.strip() == (
        f'concord: unavailable: the event store cannot be reached: database "{database}" '
        "does not exist"
    )


async def test_the_doctor_says_why_the_next_checkpoint_would_be_withheld(
    store_url: str, tmp_path: Path, dev_server: WorkflowEnvironment
) -> None:
    key = Signer.generate("concord.test/log")
    (tmp_path / "log.key").write_text(key.encode() + "\n")
    async with opened(store_url) as store:
        await record(store, Scenario("d-doctor-signed").round_open())
        tree = await caught_up_tree(store)
        size = await tree.size()
        root = await tree.root(size)
        text = Checkpoint("concord.test/log", size, root).text()
        await store.checkpoints.keep(size, root, key.sign(text))
        await record(store, Scenario("d-doctor-after").round_open())
        await caught_up_tree(store)
        head, _ = await store.head()
        await edited_in_place(store, head - 1)

    env_key = {"CONCORD_LOG_KEY_FILE": str(tmp_path / "log.key")}
    found = doctor(store_url, dev_server, env_key)
    assert found.returncode == 1
    assert f"checkpoint withheld: the event at position {head - 1} does not hash" in found.stdout
