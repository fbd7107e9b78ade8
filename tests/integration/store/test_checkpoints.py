"""Published checkpoints are kept append-only, one per tree size: a size kept again is the kept
checkpoint, and another root for a kept size is refused as a rewritten log."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from cli.app import app
from domain.errors import InvalidHistory, InvalidInput, NotFound
from store.checkpoints import KeptCheckpoint
from store.eventstore import EventStore


def root_of(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def note(size: int, label: str) -> str:
    return f"concord.test/log\n{size}\n{label}\n\n\u2014 concord.test/log sig{label}\n"


async def test_kept_checkpoints_are_listed_in_the_order_kept_and_the_last_is_the_latest(
    store: EventStore,
) -> None:
    assert await store.checkpoints.latest() is None
    assert await store.checkpoints.after() == []

    first = await store.checkpoints.keep(3, root_of("three"), note(3, "three"))
    second = await store.checkpoints.keep(8, root_of("eight"), note(8, "eight"))

    assert (first.size, first.root, first.signed) == (3, root_of("three").hex(), note(3, "three"))
    assert second.position > first.position
    assert second.created_at >= first.created_at
    assert await store.checkpoints.after() == [first, second]
    assert await store.checkpoints.after(after=first.position) == [second]
    assert await store.checkpoints.after(limit=1) == [first]
    assert await store.checkpoints.latest() == second


async def test_a_checkpoint_of_a_size_already_kept_is_kept_once(store: EventStore) -> None:
    kept = await store.checkpoints.keep(5, root_of("five"), note(5, "five"))

    again = await store.checkpoints.keep(5, root_of("five"), note(5, "five, signed again"))

    assert again == kept
    assert await store.checkpoints.after() == [kept]


async def test_another_root_for_a_kept_size_is_refused_as_a_rewritten_log(
    store: EventStore,
) -> None:
    kept = await store.checkpoints.keep(5, root_of("five"), note(5, "five"))

    with pytest.raises(InvalidHistory, match=r"tree of 5 has root .* #\d+ .* log was rewritten"):
        await store.checkpoints.keep(5, root_of("forged"), note(5, "forged"))

    assert await store.checkpoints.after() == [kept]


async def test_a_checkpoint_that_is_not_one_is_invalid_input(store: EventStore) -> None:
    with pytest.raises(InvalidInput, match="root"):
        await store.checkpoints.keep(1, b"short", note(1, "short"))
    with pytest.raises(InvalidInput, match="size"):
        await store.checkpoints.keep(-1, root_of("x"), note(1, "x"))
    with pytest.raises(InvalidInput, match="limit"):
        await store.checkpoints.after(limit=0)

    assert await store.checkpoints.after() == []


def audit_checkpoints(*args: str) -> str:
    result = CliRunner().invoke(app, ["audit", "checkpoints", *args])
    if result.exception is not None:
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def cli_store(store: EventStore, monkeypatch: pytest.MonkeyPatch) -> EventStore:
    monkeypatch.setenv("CONCORD_DATABASE_URL", store.url)
    return store


@pytest.fixture
async def two_kept(cli_store: EventStore) -> list[KeptCheckpoint]:
    return [
        await cli_store.checkpoints.keep(3, root_of("three"), note(3, "three")),
        await cli_store.checkpoints.keep(8, root_of("eight"), note(8, "eight")),
    ]


def test_the_cli_lists_the_kept_checkpoints_and_prints_the_latest_signed_note(
    two_kept: list[KeptCheckpoint],
) -> None:
    listed = json.loads(audit_checkpoints("--json"))["checkpoints"]
    table = audit_checkpoints()

    assert [(c["position"], c["size"], c["root"]) for c in listed] == [
        (two_kept[0].position, 3, root_of("three").hex()),
        (two_kept[1].position, 8, root_of("eight").hex()),
    ]
    assert all("signed" not in c and c["created_at"] for c in listed)
    assert root_of("eight").hex()[:8] in table
    assert audit_checkpoints("--latest") == note(8, "eight")
    assert json.loads(audit_checkpoints("--latest", "--json"))["signed"] == note(8, "eight")


def test_the_cli_says_when_no_checkpoint_is_kept(cli_store: EventStore) -> None:
    assert json.loads(audit_checkpoints("--json")) == {"checkpoints": []}
    assert "no checkpoints kept" in audit_checkpoints()
    with pytest.raises(NotFound, match="no checkpoint kept yet"):
        audit_checkpoints("--latest")
