"""The side logs (refusals, access events) are append-only, gap-free, hash-chained beside the
event log, read back validated, and verified with it: a tampered record is found at its position."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from sqlalchemy import text
from typer.testing import CliRunner

from audit.verify import BreakReason, verify_log
from cli import audit
from domain.errors import AuditFailed, InvalidHistory, InvalidInput
from store.eventstore import EventStore
from store.hashing import GENESIS_HASH, chain_hash
from store.side_logs import ACCESS_EVENTS, REFUSALS, SideLog, hashed_body
from store.side_records import AccessRecord, RefusalRecord
from tests.integration.store.raw_sql import raw_transaction


def refusal(number: int = 1, decision_id: str = "d-1", **fields: Any) -> RefusalRecord:
    values: dict[str, Any] = {
        "principal": "member:RUS",
        "decision_id": decision_id,
        "kind": "concur",
        "command": {"kind": "concur", "round": number, "text_hash": "ab" * 32},
        "code": "stale_text",
        "message": f"round {number} is on another text",
        "channel": "api",
    }
    return RefusalRecord(**(values | fields))


def access(token_id: str = "0123456789abcdef", **fields: Any) -> AccessRecord:
    values: dict[str, Any] = {
        "kind": "token_issued",
        "token_id": token_id,
        "principal": "member:RUS",
        "by": "operator:secretariat",
        "expires_at": datetime(2027, 1, 1, 12, 0, tzinfo=UTC),
    }
    return AccessRecord(**(values | fields))


async def _sql(store: EventStore, statement: str, **params: object) -> None:
    async with raw_transaction(store.url) as connection:
        await connection.execute(text(statement), params)


async def _row(store: EventStore, log: SideLog[Any, Any], position: int) -> dict[str, Any]:
    async with raw_transaction(store.url) as connection:
        found = await connection.execute(
            text(f"SELECT * FROM {log.name} WHERE position = :p"), {"p": position}
        )
        return dict(found.one()._mapping)


async def test_refusals_are_read_back_in_order_as_recorded_and_by_decision(
    store: EventStore,
) -> None:
    before = datetime.now(UTC)
    recorded = [
        await store.refusals.record(refusal(1, "d-1")),
        await store.refusals.record(refusal(2, "d-2", channel="cli", code="forbidden")),
        await store.refusals.record(refusal(3, "", kind="submit_proposal", command={})),
        await store.refusals.record(refusal(4, "d-1", principal="auditor:ana")),
    ]

    assert await store.refusals.read() == recorded
    assert [r.position for r in recorded] == [1, 2, 3, 4]
    assert recorded[0].prev_hash == GENESIS_HASH
    assert [r.prev_hash for r in recorded[1:]] == [r.hash for r in recorded[:-1]]
    assert before <= recorded[0].recorded_at <= recorded[-1].recorded_at <= datetime.now(UTC)
    assert recorded[1].code == "forbidden" and recorded[2].decision_id == ""
    assert await store.refusals.read(decision_id="d-1") == [recorded[0], recorded[3]]
    assert await store.refusals.read(after=1, limit=2) == recorded[1:3]
    assert await store.refusals.read(decision_id="d-9") == []


async def test_access_events_are_read_back_in_order_as_recorded(store: EventStore) -> None:
    issued = await store.access.record(access())
    revoked = await store.access.record(access(kind="token_revoked", expires_at=None))

    assert await store.access.read() == [issued, revoked]
    assert (issued.position, revoked.position) == (1, 2)
    assert issued.expires_at == datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    assert revoked.expires_at is None and revoked.prev_hash == issued.hash
    assert await store.access.read(after=1) == [revoked]


async def test_each_hash_is_sha256_of_the_previous_and_the_records_rfc8785_json(
    store: EventStore,
) -> None:
    first = await store.refusals.record(refusal(1))
    second = await store.refusals.record(refusal(2, command={"z": [1, "é"], "a": {"b": None}}))

    for record in (first, second):
        document = record.model_dump(mode="json", exclude={"prev_hash", "hash"})
        document["recorded_at"] = await _stored_instant(store, record.position)
        assert record.hash == chain_hash(record.prev_hash, rfc8785.dumps(document))


async def _stored_instant(store: EventStore, position: int) -> str:
    recorded_at = (await _row(store, REFUSALS, position))["recorded_at"]
    assert isinstance(recorded_at, str) and len(recorded_at) == 27 and recorded_at.endswith("Z")
    return recorded_at


async def test_twenty_concurrent_appends_take_positions_one_to_twenty_in_one_chain(
    store: EventStore,
) -> None:
    refused, accessed = await asyncio.gather(
        asyncio.gather(*(store.refusals.record(refusal(n)) for n in range(1, 21))),
        asyncio.gather(*(store.access.record(access(f"token{n:02}")) for n in range(1, 21))),
    )

    assert sorted(r.position for r in refused) == list(range(1, 21))
    assert sorted(a.position for a in accessed) == list(range(1, 21))
    report = await verify_log(store)
    assert report.ok, report.breaks
    assert (report.refusals_checked, report.access_events_checked) == (20, 20)


async def test_records_that_do_not_fit_are_invalid_input_naming_the_field() -> None:
    with pytest.raises(InvalidInput, match=r"command\.ratio"):
        refusal(command={"ratio": 0.5})
    with pytest.raises(InvalidInput, match="channel"):
        refusal(channel="fax")
    with pytest.raises(InvalidInput, match="kind"):
        access(kind="token_lent")
    with pytest.raises(InvalidInput, match="expires_at"):
        access(expires_at=datetime(2027, 1, 1))


async def test_a_row_that_is_not_a_valid_record_is_invalid_history_naming_its_position(
    store: EventStore,
) -> None:
    await store.refusals.record(refusal(1))
    await store.refusals.record(refusal(2))
    await store.access.record(access())
    await _sql(store, "UPDATE refusals SET command = 'not json' WHERE position = 2")
    await _sql(store, "UPDATE access_events SET kind = 'token_lent' WHERE position = 1")

    with pytest.raises(InvalidHistory, match="the refusal at position 2 cannot be read"):
        await store.refusals.read()
    with pytest.raises(InvalidHistory, match="the access event at position 1 cannot be read"):
        await store.access.read()
    assert len(await store.refusals.read(limit=1)) == 1


async def _three_of_each(store: EventStore) -> None:
    for number in (1, 2, 3):
        await store.refusals.record(refusal(number))
        await store.access.record(access(f"token{number}"))


@pytest.mark.parametrize("log", [REFUSALS, ACCESS_EVENTS], ids=lambda log: log.name)
async def test_a_changed_record_is_reported_at_its_position_in_its_log(
    store: EventStore, log: SideLog[Any, Any]
) -> None:
    await _three_of_each(store)
    await _sql(store, f"UPDATE {log.name} SET principal = 'member:USA' WHERE position = 2")

    report = await verify_log(store)

    assert not report.ok and list(report.breaks) == [log.name]
    log_break = report.breaks[log.name]
    assert (log_break.position, log_break.reason) == (2, BreakReason.HASH_MISMATCH)
    checked = report.refusals_checked if log is REFUSALS else report.access_events_checked
    assert checked == 1


@pytest.mark.parametrize("log", [REFUSALS, ACCESS_EVENTS], ids=lambda log: log.name)
async def test_a_changed_record_with_its_hash_recomputed_breaks_the_chain_after_it(
    store: EventStore, log: SideLog[Any, Any]
) -> None:
    await _three_of_each(store)
    row = await _row(store, log, 2) | {"principal": "member:USA"}
    rehashed = chain_hash(row["prev_hash"], hashed_body(log, row))
    await _sql(
        store,
        f"UPDATE {log.name} SET principal = 'member:USA', hash = :h WHERE position = 2",
        h=rehashed,
    )

    log_break = (await verify_log(store)).breaks[log.name]

    assert (log_break.position, log_break.reason) == (3, BreakReason.PREV_HASH_MISMATCH)


async def test_a_command_rewritten_in_a_non_canonical_form_is_malformed(
    store: EventStore,
) -> None:
    await store.refusals.record(refusal(1, command={"a": 1, "b": 2}))
    await _sql(store, "UPDATE refusals SET command = :c WHERE position = 1", c='{"b":2,"a":1}')

    log_break = (await verify_log(store)).breaks["refusals"]

    assert (log_break.position, log_break.reason) == (1, BreakReason.MALFORMED_BODY)


async def test_a_deleted_last_record_is_missing_below_the_head(store: EventStore) -> None:
    await _three_of_each(store)
    await _sql(store, "DELETE FROM access_events WHERE position = 3")

    log_break = (await verify_log(store)).breaks["access_events"]

    assert (log_break.position, log_break.reason) == (3, BreakReason.MISSING_POSITION)


async def test_a_record_added_around_the_store_lies_beyond_the_head(store: EventStore) -> None:
    await _three_of_each(store)
    row = await _row(store, REFUSALS, 3)
    forged = row | {"position": 4, "prev_hash": row["hash"]}
    forged["hash"] = chain_hash(row["hash"], hashed_body(REFUSALS, forged))
    columns = ", ".join(forged)
    await _sql(
        store,
        f"INSERT INTO refusals ({columns}) VALUES ({', '.join(':' + c for c in forged)})",
        **forged,
    )

    log_break = (await verify_log(store)).breaks["refusals"]

    assert (log_break.position, log_break.reason) == (4, BreakReason.BEYOND_HEAD)


def test_the_cli_lists_the_side_logs_and_its_verify_names_the_tampered_log_and_position(
    filled_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONCORD_DATABASE_URL", filled_store_url)

    listed = _cli_json("refusals", "--decision", "d-2")["refusals"]
    assert [(r["position"], r["decision_id"], r["code"]) for r in listed] == [
        (2, "d-2", "stale_text")
    ]
    access_events = _cli_json("access")["access_events"]
    assert [a["token_id"] for a in access_events] == ["token1", "token2", "token3"]
    verified = _cli_json("verify")
    assert verified["ok"] is True
    assert (verified["refusals_checked"], verified["access_events_checked"]) == (3, 3)

    asyncio.run(_tamper(filled_store_url))

    result = CliRunner().invoke(audit.app, ["verify"])
    assert isinstance(result.exception, AuditFailed) and AuditFailed.exit_code == 1
    assert "the refusals log is broken at position 2 (hash_mismatch)" in str(result.exception)


def _cli_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(audit.app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture
async def filled_store_url(store: EventStore, store_url: str) -> str:
    for number in (1, 2, 3):
        await store.refusals.record(refusal(number, f"d-{number}"))
        await store.access.record(access(f"token{number}", expires_at=None))
    return store_url


async def _tamper(url: str) -> None:
    async with raw_transaction(url) as connection:
        await connection.execute(text("UPDATE refusals SET message = 'forged' WHERE position = 2"))
