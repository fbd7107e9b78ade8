"""What every CLI command shares: settings, connections, the acting identity, output, errors."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar

import typer
from pydantic import BaseModel, TypeAdapter, ValidationError

from cli.output import Output, escape
from cli.parsing import decision_id, excerpt
from domain.errors import InvalidInput
from domain.values import Principal

if TYPE_CHECKING:  # what a command needs is imported when it runs (cli.app's docstring)
    from domain.commands import MemberAnswer
    from domain.council import Council
    from domain.roster import RosterBook
    from runtime.commands import Commands
    from runtime.decisions import DecisionClient
    from runtime.settings import Settings
    from store.eventstore import EventStore
    from store.side_records import RefusalRecord
    from store.states import DecisionReads
    from workflows.messages import Receipt

T = TypeVar("T")


out = Output()

Id = Annotated[
    str,
    typer.Argument(
        help="The decision's id, e.g. d-2004-terrorism.", metavar="ID", callback=decision_id
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
ActorOption = Annotated[
    str,
    typer.Option(
        "--as",
        help="On whose behalf: a member's code (RUS), `chair`, or a body (PC).",
        metavar="CODE",
    ),
]
MAX_KEY: Final = 120
"""The longest idempotency key, as the API's `Idempotency-Key` allows."""
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--key", help="Idempotency key: giving the same command with the same key is a no-op."
    ),
]

SignKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--sign-key",
        envvar="CONCORD_SIGN_KEY_FILE",
        help="Sign the answer with the member's own key file (`concord keys generate`).",
        metavar="FILE",
    ),
]


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shown(text: str) -> str:
    """Text someone else wrote, safe to print: control characters (terminal escapes, bells)
    made visible as \\xNN, invisible formatting characters (bidirectional overrides,
    zero-width spaces) as \\uNNNN, and rich's markup escaped, so it is shown, never obeyed."""
    from domain.values import visible

    return escape(visible(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)))


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine (its Concord errors are reported by `cli.app.invoke`)."""
    import asyncio

    return asyncio.run(work)


def settings() -> Settings:
    from runtime.settings import load_settings

    return load_settings()


def principal(current: Settings) -> str:
    """Who records commands given through the CLI: the configured operator; InvalidInput naming
    CONCORD_OPERATOR when it cannot name one (unset, it is the user's login name)."""
    from runtime.settings import ENV_PREFIX

    try:
        return TypeAdapter(Principal).validate_python(f"operator:{current.operator}")
    except ValidationError:
        name = excerpt(current.operator)
        said = (
            name
            if "operator" in current.model_fields_set
            else f"unset, it is the login name {name}, which"
        )
        raise InvalidInput(
            f"{ENV_PREFIX}OPERATOR",
            f"{said} is not an operator's name: set it to 1 to 64 letters, digits or . _ @ + -",
        ) from None


@asynccontextmanager
async def decisions(current: Settings | None = None) -> AsyncIterator[DecisionClient]:
    from runtime.decisions import DecisionClient
    from runtime.temporal import connect

    current = current or settings()
    client = await connect(current.temporal_address, current.temporal_namespace)

    async def rosters() -> RosterBook:  # a proposal's: a member's answer opens no store
        from store.councils import Councils

        async with event_store(current) as store:
            return await Councils(store).roster_book()

    yield DecisionClient.configured(client, current, rosters)


@asynccontextmanager
async def commands(
    current: Settings | None = None, *, key_given: bool = True
) -> AsyncIterator[Commands]:
    """Commands sent to decisions; a refusal is kept in the refusals log, and a key the caller
    gave (`key_given`) is refused when it names a command on another decision (the store is
    opened only for these; a key made up here is new)."""
    from runtime.commands import Commands

    current = current or settings()

    async def record(refusal: RefusalRecord) -> None:
        async with event_store(current) as store:
            await store.refusals.record(refusal)

    async def holder(key: str) -> str | None:
        async with event_store(current) as store:
            return await store.decision_of_key(key)

    async def signed_by_its_member(answer: MemberAnswer) -> None:
        if answer.signature is None:  # nothing to check: the store is not opened for it
            return
        from audit.keys import KeyBook

        async with event_store(current) as store:
            await KeyBook(store, current.log_origin).check_answer(answer)

    async with decisions(current) as client:
        yield Commands(client, record, holder if key_given else None, signed_by_its_member)


@asynccontextmanager
async def event_store(current: Settings | None = None) -> AsyncIterator[EventStore]:
    from store.eventstore import open_store

    current = current or settings()
    store = await open_store(current.database_url)
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def decision_reads(current: Settings | None = None) -> AsyncIterator[DecisionReads]:
    """Where one decision is read from: a SQLite store's file read directly, without importing
    SQLAlchemy (store.file_reader), any other store through the store."""
    from store.file_reader import DecisionFile
    from store.urls import sqlite_file

    current = current or settings()
    path = sqlite_file(current.database_url)
    if path is None:
        from store.states import LogReads

        async with event_store(current) as store:
            yield LogReads(store)
        return
    reader = DecisionFile.open(path)
    try:
        yield reader
    finally:
        reader.close()


@contextmanager
def resendable(key: str | None, *options: str) -> Iterator[str]:
    """The command's idempotency key, `--key`'s or a new one; a command not acknowledged in
    time says how to give it again with that key (and `options`) without giving it twice."""
    if key is not None and not (
        0 < len(key) <= MAX_KEY and key.isprintable() and not any(c.isspace() for c in key)
    ):
        raise InvalidInput("key", f"1 to {MAX_KEY} printable characters without spaces")
    from runtime.decisions import Unacknowledged

    key = key or str(uuid.uuid4())
    try:
        yield key
    except Unacknowledged as late:
        again = " ".join((*options, "--key", key))
        raise late.resent_with(
            f"give it again with {again} to get its receipt without giving it twice"
        ) from None


def emit(document: BaseModel | dict[str, Any], as_json: bool, human: Callable[[], None]) -> None:
    """Print `document` as JSON for machines, or call `human` to print it for people."""
    if as_json:
        data = document.model_dump(mode="json") if isinstance(document, BaseModel) else document
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        human()


def show_receipt(receipt: Receipt, as_json: bool) -> None:
    emit(receipt_document(receipt), as_json, lambda: _accepted(receipt))


def show_receipts(receipts: dict[str, Receipt], as_json: bool) -> None:
    """Receipts of one command stored on several decisions, by their role in it."""

    def human() -> None:
        for receipt in receipts.values():
            _accepted(receipt)

    emit({role: receipt_document(r) for role, r in receipts.items()}, as_json, human)


def receipt_document(receipt: Receipt) -> dict[str, Any]:
    return {
        "decision_id": receipt.decision_id,
        "event_ids": list(receipt.event_ids),
        "event_types": list(receipt.event_types),
        "stream_version": receipt.stream_version,
        "hashes": list(receipt.hashes),
        "idempotency_key": receipt.idempotency_key,
    }


def _accepted(receipt: Receipt) -> None:
    events = ", ".join(receipt.event_types)
    out.print(f"[green]accepted[/green] {receipt.decision_id} v{receipt.stream_version}: {events}")


async def council_in_force(current: Settings | None = None) -> Council:
    """The council decisions are taken in: the one the log records, else the shipped NRC."""
    from store.councils import Councils

    async with event_store(current) as store:
        return await Councils(store).in_force()
