"""The auditor's commands: verify the logs, rebuild a decision as of an instant, replay it, and
list the side logs of refused commands and of access tokens issued and revoked."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final, TypeVar

import typer

from cli.parsing import parse_as_of, read_text_file
from cli.session import Id, JsonOption, decisions, emit, event_store, out, run, settings, shown
from domain.errors import AuditFailed, InvalidInput, NotFound, Unavailable
from store.side_records import StoredAccessEvent, StoredRefusal

if TYPE_CHECKING:  # each command imports what it needs: replay alone imports Temporal's worker
    from audit.answers import AnswerRecord
    from audit.verify import LogBreak
    from store.eventstore import EventStore

R = TypeVar("R", StoredRefusal, StoredAccessEvent)
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="An ISO-8601 instant, a date (its start, UTC) or a duration ago (2d); default: now.",
    ),
]
VersionOption = Annotated[
    int | None,
    typer.Option("--version", min=1, help="The decision's stream version to stop at."),
]

_PAGE: Final = 1_000
_LOG_NAMES: Final = {
    "events": "the log",
    "refusals": "the refusals log",
    "access_events": "the access events log",
    "merkle_tree": "the Merkle tree",
    "key_registry": "the key registry",
    "answers": "the members' signed answers",
}

app = typer.Typer()
"""The commands `concord audit` imports from this module (cli.app's AUDIT names them)."""


@app.command()
def verify(
    as_json: JsonOption = False,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="Also prove the log extends this signed checkpoint unchanged."),
    ] = None,
    tiles: Annotated[
        Path | None,
        typer.Option(
            help="The tiles saved with --checkpoint (`concord audit tiles`): where the log "
            "departs from it is then found exactly.",
            file_okay=False,
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="The log's verifier key, or a file holding it, to check --checkpoint's "
            "signature with (default: the installation's own key, if this user may read it)."
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            help="A witness policy file: --checkpoint must carry a quorum of its witnesses' "
            "cosignatures."
        ),
    ] = None,
) -> None:
    """Recompute every hash of the log and of the side logs; exit 0 only when all verifies.
    With --checkpoint, also prove (RFC 9162 consistency) that today's log extends the one the
    checkpoint signed, and where a log that does not departs from it; a log that does not
    verify is never said to extend it.

    Example: concord audit verify --checkpoint cp-2026-11-26 --tiles ./tiles-2026-11-26
    """
    from rich.progress import BarColumn, Progress, TextColumn

    from audit.verify import verify_log

    async def work() -> None:
        current = settings()
        async with event_store(current) as store:
            total, _ = await store.head()
            with Progress(
                TextColumn("verifying"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} events"),
                disable=as_json,
                transient=True,
            ) as bar:
                task = bar.add_task("verify", total=total)
                report = await verify_log(
                    store, lambda n: bar.update(task, completed=n), origin=current.log_origin
                )
            extends = None
            if checkpoint is not None:
                sound = not ({"events", "merkle_tree"} & report.breaks.keys())
                extends = await _extends(store, checkpoint, tiles, key, sound, policy)
        broken = [
            f"{_LOG_NAMES[log]} is broken at {_described(log_break)}"
            for log, log_break in report.breaks.items()
        ]
        if extends is not None and not extends[0]:
            broken.append(f"the log {extends[1]}")
        found: dict[str, object] = {"checkpoint": extends[1]} if extends else {}
        emit(
            report.model_dump(mode="json") | {"ok": not broken} | found,
            as_json,
            lambda: out.print(
                f"[green]verified[/green] {report.events_checked} events; head "
                f"{report.head_position} {report.head_hash}; {report.refusals_checked} "
                f"refusals and {report.access_events_checked} access events; the Merkle tree "
                f"of {report.tree_size} leaves; {_count(report.key_changes_checked, 'key change')}"
                f"; {_signed_answers(report.answers_signed)}, {report.answers_unsigned} unsigned"
                + (f"; the log {extends[1]}" if extends else "")
                if not broken
                else "\n".join(f"[red]broken[/red]: {line}" for line in broken)
            ),
        )
        if broken:
            failed = AuditFailed("; ".join(broken))
            if as_json:  # one document on stdout, the report: the reason goes to stderr only
                print(f"concord: {failed.line()}", file=sys.stderr)
                raise typer.Exit(failed.exit_code)
            raise failed

    run(work())


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _signed_answers(n: int) -> str:
    return "1 answer signed by its member" if n == 1 else f"{n} answers signed by their members"


async def _extends(
    store: EventStore,
    path: Path,
    tiles: Path | None,
    key_given: str | None,
    sound: bool,
    policy: Path | None = None,
) -> tuple[bool, str]:
    """Whether today's log extends the signed checkpoint at `path` (RFC 9162 consistency), and
    what was found: where it departs from it, when it does not. The signature is checked with
    the verifier key given, else the installation's own; a log that does not verify (`sound`
    false) is not said to extend it, whatever its stored tree says."""
    from audit import departure
    from audit.checkpoint import open_checkpoint
    from audit.cosigning import WitnessPolicy
    from audit.merkle import verify_consistency
    from audit.tree import caught_up
    from cli.transparency import signer, verifier_from

    current = settings()
    if key_given is not None:
        key = verifier_from(key_given, "key")
    elif current.signing_key_file.exists():
        key = signer(current).verifier
    else:
        raise InvalidInput("key", "give the log's verifier key (`concord audit pubkey`)")
    signed = read_text_file(path, "checkpoint")
    old = open_checkpoint(signed, key, key.name)
    if policy is not None:  # a checkpoint the witnesses did not see proves nothing to others
        WitnessPolicy.parse(read_text_file(policy, "policy")).check(signed, key)
    tree = await caught_up(store)
    size = await tree.size()
    if size >= old.size:
        proof = await tree.consistency(old.size, size)
        if verify_consistency(old.size, size, old.root, await tree.root(size), proof):
            if not sound:  # the stored tree says so, the entries do not
                if tiles is not None:
                    where = await departure.from_tiles(tree, old, tiles)
                    return False, (
                        f"does not extend the checkpoint of {old.size} events, though its "
                        f"stored tree says so: {where}"
                    )
                return False, (
                    f"cannot be shown to extend the checkpoint of {old.size} events: its "
                    "events or its tree do not verify (above); give --tiles (the tiles saved "
                    "with the checkpoint) for the first entry that differs"
                )
            return True, f"extends the checkpoint of {old.size} events unchanged"
        found = f"does not extend the checkpoint of {old.size} events (rewritten or removed)"
    else:
        found = f"has {size} events, fewer than the checkpoint's {old.size}"
    if size < old.size and tiles is None:
        return False, f"{found}: it was cut short below the checkpoint"
    where = (
        await departure.from_tiles(tree, old, tiles)
        if tiles is not None
        else await departure.from_kept(tree, store, old, key)
    )
    return False, f"{found}: {where}"


@app.command()
def history(
    decision_id: Id,
    as_of: AsOfOption = None,
    version: VersionOption = None,
    as_json: JsonOption = False,
) -> None:
    """A decision's events and its state rebuilt at an instant (and no later than a version).

    Example: concord audit history d-1 --as-of 2026-12-01T12:00:00Z
    """
    from audit.asof import state_as_of
    from cli.reading import status_document

    async def work() -> None:
        instant = parse_as_of(as_of, "as-of")
        async with event_store() as store:
            state, events = await state_as_of(store, decision_id, instant, through=version)
        document = {
            "decision_id": decision_id,
            "as_of": instant.isoformat(),
            "version": version,
            "events": [
                {
                    "position": e.position,
                    "version": e.stream_version,
                    "event_id": e.event_id,
                    "type": e.type,
                    "actor": e.actor,
                    "recorded_by": e.recorded_by,
                    "occurred_at": e.occurred_at.isoformat(),
                    "recorded_at": e.recorded_at.isoformat(),
                    "payload": e.payload,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                }
                for e in events
            ],
            "state": status_document(state) if state else None,
        }

        def human() -> None:
            for e in events:
                out.print(
                    f"v{e.stream_version:<4} #{e.position:<6} {e.occurred_at.isoformat()}  "
                    f"{e.actor:<6} {e.type}  {e.event_id}"
                )
                payload = json.dumps(e.payload, ensure_ascii=False, sort_keys=True)
                out.print(f"        {shown(payload)}")
                out.print(f"        prev {e.prev_hash}  hash {e.hash}", style="dim")
            out.print(
                f"state as of {instant.isoformat()}"
                + (f", version {version} at most" if version else "")
                + f": {state.status.value if state else 'not yet proposed'}"
            )

        emit(document, as_json, human)

    run(work())


@app.command()
def state(
    decision_id: Id,
    as_of: AsOfOption = None,
    version: VersionOption = None,
    as_json: JsonOption = False,
) -> None:
    """A decision's state alone at an instant (and no later than a version), in milliseconds
    for long decisions: it starts from the latest signed snapshot that still checks against
    the log, when the installation has a log key, and keeps the ones it passes.

    Example: concord audit state d-1 --as-of 2026-12-01 --json
    """
    from audit.snapshots import state_at
    from cli.reading import status_document
    from cli.transparency import signer

    async def work() -> None:
        instant = parse_as_of(as_of, "as-of")
        current = settings()
        key = signer(current) if current.signing_key_file.exists() else None
        async with event_store() as store:
            at, snapshot = await state_at(store, decision_id, instant, key, through=version)
            held = await store.stream_version(decision_id)
            if version is not None and held and version > held:
                raise NotFound(f"{decision_id} has {held} events: it has no version {version}")
        document = {
            "decision_id": decision_id,
            "as_of": instant.isoformat(),
            "version": version,
            "from_snapshot": snapshot,
            "state": status_document(at) if at else None,
        }
        emit(
            document,
            as_json,
            lambda: out.print(
                f"{decision_id} as of {instant.isoformat()}"
                + (f", version {version} at most" if version else "")
                + f": {at.status.value if at else 'not yet proposed'}"
                + (f" (from the snapshot at v{snapshot})" if snapshot else "")
            ),
        )

    run(work())


@app.command()
def replay(decision_id: Id, as_json: JsonOption = False) -> None:
    """Replay the decision's archived Temporal histories, and its run in flight (from Temporal's
    live history, when Temporal answers), against the current workflow code.

    Example: concord audit replay d-1
    """
    from audit.replay import replay_decision

    async def work() -> None:
        live, reached = None, True
        try:
            async with decisions() as client:
                live = await client.live_history(decision_id)
        except Unavailable:
            reached = False  # archived runs still replay; the run in flight, if any, is not seen
        async with event_store() as store:
            report = await replay_decision(store, decision_id, live)
        notes = (
            ([f"the run in flight {report.live_run} replayed live"] if report.live_run else [])
            + ([f"{report.in_flight} event(s) being stored"] if report.in_flight else [])
            + ([] if reached else ["Temporal unreachable: a run in flight was not replayed"])
        )
        emit(
            report.model_dump(mode="json") | {"ok": report.ok, "temporal_reached": reached},
            as_json,
            lambda: out.print(
                f"[green]replayed[/green] {report.runs} run(s): {report.events_implied} events "
                "implied, all in the log" + "".join(f"; {note}" for note in notes)
                if report.ok
                else "[red]mismatch[/red]: " + "; ".join(report.failures)
            ),
        )
        if not report.ok:
            unchecked = ("no history:", "no archived history implies them")
            if not reached and all(
                f.startswith(unchecked[0]) or f.endswith(unchecked[1]) for f in report.failures
            ):  # nothing was found wrong: what would have shown it was out of reach
                raise Unavailable(
                    "Temporal is unreachable: the decision's run in flight could not be "
                    "replayed (" + "; ".join(report.failures) + ")"
                )
            raise AuditFailed("; ".join(report.failures))

    run(work())


@app.command()
def refusals(
    decision_id: Annotated[
        str | None,
        typer.Option("--decision", metavar="ID", help="Only the refusals of this decision."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Commands Concord refused, by its rules or for the principal's role, oldest first.

    Example: concord audit refusals --decision d-1
    """

    async def work() -> None:
        async with event_store() as store:
            found = await _every(
                lambda after: store.refusals.read(after=after, limit=_PAGE, decision_id=decision_id)
            )

        def human() -> None:
            for r in found:
                out.print(
                    f"#{r.position:<5} {r.recorded_at.isoformat()}  {shown(r.principal)}  "
                    f"{shown(r.decision_id or '-')}  {shown(r.kind)}  {shown(r.code)}: "
                    f"{shown(r.message)}"
                )
            if not found:
                out.print("no refusals recorded")

        emit({"refusals": [r.model_dump(mode="json") for r in found]}, as_json, human)

    run(work())


@app.command()
def answers(
    decision_id: Annotated[
        str | None,
        typer.Option("--decision", metavar="ID", help="Only the answers given on this decision."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Members' answers, oldest first, each with what its signature shows: signed by the
    member's key in force (the member's own word), unsigned (it rests on whoever recorded it),
    or a signature that is not the member's (exit 4).

    Example: concord audit answers --decision d-1
    """
    from audit.answers import Signed, checked_answers

    async def work() -> None:
        current = settings()
        async with event_store(current) as store:
            found = [a async for a in checked_answers(store, current.log_origin, decision_id)]

        def human() -> None:
            for a in found:
                out.print(
                    f"#{a.position:<5} {a.occurred_at.isoformat()}  {shown(a.decision_id)} "
                    f"v{a.stream_version}  {a.member}  {a.kind}  {_signature_shown(a)}"
                )
            if not found:
                out.print("no answers recorded")

        emit({"answers": [a.model_dump(mode="json") for a in found]}, as_json, human)
        bad = [a for a in found if a.status in (Signed.BAD, Signed.MISSING)]
        if bad:
            first = bad[0]
            failed = AuditFailed(
                f"{len(bad)} answer(s) are not signed by their member as the council requires; "
                f"the first, at position {first.position}: {first.finding}"
            )
            if as_json:
                print(f"concord: {failed.line()}", file=sys.stderr)
                raise typer.Exit(failed.exit_code)
            raise failed

    run(work())


def _signature_shown(answer: AnswerRecord) -> str:
    from audit.answers import Signed

    if answer.status is Signed.BY_MEMBER:
        flag = " [bold](key on the chair's authority)[/]" if answer.key_flagged else ""
        return f"[green]signed by {answer.member}[/] ({answer.key_id}){flag}"
    if answer.status is Signed.UNSIGNED:
        return f"unsigned, recorded by {shown(answer.recorded_by)}"
    if answer.status is Signed.MISSING:
        return f"[red]unsigned, though required[/], recorded by {shown(answer.recorded_by)}"
    return f"[red]signature not {answer.member}'s[/]: {shown(answer.finding or '')}"


@app.command()
def access(as_json: JsonOption = False) -> None:
    """Access tokens issued and revoked, by whom and for whom, oldest first.

    Example: concord audit access
    """

    async def work() -> None:
        async with event_store() as store:
            found = await _every(lambda after: store.access.read(after=after, limit=_PAGE))

        def human() -> None:
            for a in found:
                expires = a.expires_at.isoformat() if a.expires_at else "never"
                out.print(
                    f"#{a.position:<5} {a.recorded_at.isoformat()}  {a.kind}  "
                    f"{shown(a.token_id)}  as {shown(a.principal)}  by {shown(a.by)}  "
                    f"expires {expires}"
                )
            if not found:
                out.print("no access events recorded")

        emit({"access_events": [a.model_dump(mode="json") for a in found]}, as_json, human)

    run(work())


async def _every(page: Callable[[int], Awaitable[list[R]]]) -> list[R]:
    """Every record of a side log, read a page at a time after the last one read."""
    records: list[R] = []
    while True:
        found = await page(records[-1].position if records else 0)
        records.extend(found)
        if len(found) < _PAGE:
            return records


def _described(log_break: LogBreak) -> str:
    """`position N (reason): message`, the first break as one line."""
    return f"position {log_break.position} ({log_break.reason.value}): {log_break.message}"
