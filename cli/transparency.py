"""`concord audit keygen|pubkey|checkpoint|prove|check`: the log as a transparency log, with
signed checkpoints and proofs an outside auditor checks with the public key alone."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from audit import checkpoint as cp
from audit.note import Signer, Verifier
from cli.parsing import read_text_file
from cli.session import Id, JsonOption, emit, event_store, out, run, settings
from domain.errors import AuditFailed, InvalidInput, NotFound
from store.key_files import write_secret

if TYPE_CHECKING:  # each command imports what it needs: keygen, pubkey and check no store
    from runtime.settings import Settings

app = typer.Typer()

OutputOption = Annotated[
    Path | None, typer.Option("-o", "--output", help="Write to this file instead of stdout.")
]


def signer(current: Settings) -> Signer:
    path = current.signing_key_file
    if not path.exists():
        raise NotFound(f"no signing key at {path}: make one with `concord audit keygen`")
    return Signer.parse(path.read_text())


def verifier_from(value: str, field: str) -> Verifier:
    """A verifier key given as is, or as the path of a file holding it."""
    given = Path(value)
    return Verifier.parse(read_text_file(given, field) if given.exists() else value)


def write(text: str, output: Path | None) -> None:
    if output is None:
        print(text, end="" if text.endswith("\n") else "\n")
    else:
        output.write_text(text, encoding="utf-8")


@app.command()
def keygen() -> None:
    """Make the installation's log signing key (mode 0600, outside the database) and print
    its verifier key, the one to give auditors. The key is named after the log's origin
    (CONCORD_LOG_ORIGIN), and every checkpoint it signs carries that origin.

    Example: CONCORD_LOG_ORIGIN=nrc.example/concord concord audit keygen
    """
    current = settings()
    key = new_signing_key(current)
    out.print(f"signing key written to {current.signing_key_file} (mode 0600); verifier key:")
    print(key.verifier.encode())


def new_signing_key(current: Settings) -> Signer:
    """A new signing key for the log, named after its origin, written (mode 0600) where the
    settings keep it; InvalidInput if a key is there already: a log keeps its key."""
    path = current.signing_key_file
    key = Signer.generate(cp.check_origin(current.log_origin))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_secret(
        path, key.encode() + "\n", "CONCORD_LOG_KEY_FILE", "a log keeps its key (remove it first)"
    )
    return key


@app.command()
def pubkey() -> None:
    """Print the verifier key of the log's signing key (name+id+key).

    Example: concord audit pubkey > concord.vkey
    """
    print(signer(settings()).verifier.encode())


@app.command("checkpoint")
def checkpoint_command(output: OutputOption = None) -> None:
    """Sign a checkpoint of the log as it stands: origin, tree size, root hash. The root is
    recomputed from the events appended since the latest checkpoint kept, and the tree shown to
    extend it; a log or tree changed since is refused (exit 1) and nothing is signed.

    Example: concord audit checkpoint -o checkpoint-2026-11-26
    """
    from audit.tree import caught_up

    async def work() -> None:
        current = settings()
        key = signer(current)
        async with event_store(current) as store:
            made = await cp.checked(store, await caught_up(store), current.log_origin, key.verifier)
        write(key.sign(made.text()), output)

    run(work())


@app.command()
def prove(
    position: Annotated[
        int | None, typer.Option(help="Prove this event is in the log (its position).", min=1)
    ] = None,
    since: Annotated[
        Path | None, typer.Option(help="Prove the log extends this older checkpoint.")
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="The checkpoint to prove against (default: one signed now)."),
    ] = None,
    output: OutputOption = None,
) -> None:
    """Write a proof file: an event's inclusion (--position) or the log's consistency with
    an older checkpoint (--since); `concord audit check` verifies it with the public key. With
    witnesses (CONCORD_WITNESS_POLICY_FILE), an inclusion is proved against the earliest kept
    checkpoint holding the event with a quorum of cosignatures, whose times it reports: the
    event existed by then, on the witnesses' word.

    Example: concord audit prove --position 42 --checkpoint cp.txt -o proof.json
    """
    if (position is None) == (since is None):
        raise InvalidInput("position", "give --position or --since")

    from audit.cosigning import earliest_cosigned
    from audit.tree import caught_up
    from runtime.witnesses import witness_policy

    async def work() -> None:
        current = settings()
        key = signer(current)
        policy = witness_policy(current)
        said = ""
        async with event_store(current) as store:
            tree = await caught_up(store)
            witnessed = None
            if position is not None and checkpoint is None and policy is not None:
                witnessed = await earliest_cosigned(store, policy, key.verifier, position)
            if witnessed is not None:
                signed, against, times = witnessed
                assert policy is not None
                by = sorted(times.values())[policy.quorum - 1]
                said = (
                    f"{cosigned_by(times, policy.quorum)}: position {position} existed by "
                    f"{datetime.fromtimestamp(by, UTC).isoformat(timespec='seconds')}, on the "
                    "word of a quorum of witnesses"
                )
            elif checkpoint is not None:
                signed = read_text_file(checkpoint, "checkpoint")
                against = cp.open_checkpoint(signed, key.verifier, current.log_origin)
                if against.size > await tree.size():
                    raise InvalidInput("checkpoint", "its tree is larger than this log's")
            else:
                against = await cp.checked(store, tree, current.log_origin, key.verifier)
                signed = key.sign(against.text())
            if position is not None:
                proof: cp.InclusionProof | cp.ConsistencyProof = await cp.prove_inclusion(
                    store, tree, signed, against, position
                )
            else:
                assert since is not None
                old_signed = read_text_file(since, "since")
                old = cp.open_checkpoint(old_signed, key.verifier, current.log_origin)
                proof = await cp.prove_consistency(tree, old_signed, old, signed, against)
        # What is written is what an auditor's check passes: a log changed since the
        # checkpoint gives a proof that fails, and then nothing is written.
        try:
            cp.check(proof.model_dump(mode="json"), key.verifier)
        except AuditFailed as failed:
            raise AuditFailed(f"no proof written: {failed.message}; the log was changed") from None
        write(proof.model_dump_json(indent=2), output)
        if said:
            out.print(f"the checkpoint of {against.size} holding position {position} is {said}")
        elif position is not None and policy is not None:
            out.print(
                f"no kept checkpoint holding position {position} carries a quorum of the "
                "policy's cosignatures yet: the proof is against one the witnesses have not seen"
            )

    run(work())


@app.command()
def check(
    proof_file: Annotated[
        Path, typer.Argument(metavar="PROOF", help="A proof file, or an export's evidence.")
    ],
    key: Annotated[str, typer.Option(help="The log's verifier key (name+id+key), or a file.")],
    events: Annotated[
        Path | None,
        typer.Option(help="With an export's evidence: the exported events (JSONL or CSV)."),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            help="A witness policy file: the checkpoint must carry a quorum of its witnesses' "
            "cosignatures."
        ),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            help="Remember the largest checkpoint verified here, and hold every later one to "
            "it: same size, same root; another size, proved consistent."
        ),
    ] = None,
    log: Annotated[
        str | None,
        typer.Option(help="With --state: the log's URL, whose hash tiles prove consistency."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Verify a proof file offline with the log's public key alone (no database, no Concord
    service): exit 0 when it holds, 1 when it does not. Given an export's evidence and its
    events, check that every event hashes as exported and is in the signed tree.

    Example: concord audit check proof.json --key concord.vkey
    Example: concord audit check d.jsonl.evidence.json --events d.jsonl --key concord.vkey
    """
    verifier = verifier_from(key, "key")
    try:
        document = json.loads(read_text_file(proof_file, "proof"))
    except json.JSONDecodeError as error:
        raise InvalidInput("proof", f"not JSON: {error.msg}") from None
    if not isinstance(document, dict):
        raise InvalidInput("proof", "not a proof file")
    if document.get("kind") == "evidence":
        if events is None:
            raise InvalidInput("events", "an export's evidence is checked with its events")
        from audit.export import Evidence, check_export, read_export

        bound = Evidence.model_validate(document)
        held = check_export(
            read_export(read_text_file(events, "events"), "events"), bound, verifier
        )
    else:
        if events is not None:
            raise InvalidInput("events", "only an export's evidence is checked with events")
        held = cp.check(document, verifier)
    signed = str(document.get("checkpoint") or document.get("new"))
    if policy is not None:
        from audit.cosigning import WitnessPolicy

        witnesses = WitnessPolicy.parse(read_text_file(policy, "policy"))
        _, times = witnesses.check(signed, verifier)
        held += "; " + cosigned_by(times, witnesses.quorum)
    if state is not None:
        held += "; " + run(remembered(state, verifier, document, signed, log))
    elif log is not None:
        raise InvalidInput("log", "--log goes with --state")
    emit({"ok": True, "proved": held}, as_json, lambda: out.print(f"[green]proved[/green] {held}"))


async def remembered(
    state: Path, verifier: Verifier, document: dict[str, Any], signed: str, log: str | None
) -> str:
    """The proof's checkpoint held to the one this client remembers (audit.remembered)."""
    from audit.remembered import Remembered

    checkpoint = cp.open_checkpoint(signed, verifier)
    proved = None
    if document.get("kind") == "consistency":
        old = cp.open_checkpoint(str(document["old"]), verifier)
        proved = (old, checkpoint, cp.unb64(list(document["proof"]), "proof"))
    return await Remembered(state, verifier).hold(signed, checkpoint, proved, log)


def cosigned_by(times: dict[str, int], quorum: int) -> str:
    """What a checkpoint's cosignatures say: by whom, and the time each witness gave."""
    said = ", ".join(
        f"{name} at {datetime.fromtimestamp(at, UTC).isoformat(timespec='seconds')}"
        for name, at in sorted(times.items(), key=lambda item: item[1])
    )
    return f"cosigned by {len(times)} of the policy's witnesses ({quorum} needed): {said}"


@app.command()
def tiles(
    output: Annotated[Path, typer.Option("-o", "--output", help="The directory of the tiles.")],
) -> None:
    """Write the log as static C2SP tlog-tiles (checkpoint, hash tiles, entry bundles) under a
    directory, incrementally: only what changed since the last call.

    Example: concord audit tiles -o /srv/www/concord-log
    """
    from audit.tiles import write_tiles
    from audit.tree import caught_up

    async def work() -> None:
        current = settings()
        key = signer(current)
        async with event_store(current) as store:
            tree = await caught_up(store)
            made = await cp.checked(store, tree, current.log_origin, key.verifier)
            output.mkdir(parents=True, exist_ok=True)
            written = await write_tiles(store, tree, output, key.sign(made.text()), made.size)
        out.print(f"{written} files written under {output} (tree of {made.size})")

    run(work())


@app.command("witness")
def witness_command(
    checkpoint: Annotated[Path, typer.Argument(metavar="CHECKPOINT", help="A signed checkpoint.")],
    log_key: Annotated[str, typer.Option(help="The log's verifier key, or a file holding it.")],
    state: Annotated[Path, typer.Option(help="The witness's directory: its key, what it saw.")],
    proof: Annotated[
        Path | None,
        typer.Option(help="A consistency proof from the checkpoint last cosigned to this one."),
    ] = None,
    name: Annotated[
        str, typer.Option(help="The witness's name, when its key is made.")
    ] = "witness.local/concord",
    output: OutputOption = None,
) -> None:
    """Cosign a checkpoint (C2SP tlog-cosignature) if it extends the last one this witness
    cosigned: a rollback or a fork is refused (exit 1) and nothing is cosigned.

    Example: concord audit witness cp.txt --log-key concord.vkey --state ./w --proof grown.json
    """
    from audit.witness import witness

    verifier = verifier_from(log_key, "log-key")
    consistency = None
    if proof is not None:
        consistency = cp.ConsistencyProof.model_validate_json(read_text_file(proof, "proof"))
    cosigned = witness(
        state,
        name,
        verifier,
        read_text_file(checkpoint, "checkpoint"),
        consistency,
        int(time.time()),
    )
    write(cosigned, output)


@app.command("witness-key")
def witness_key(
    state: Annotated[Path, typer.Option(help="The witness's directory.")],
    name: Annotated[
        str, typer.Option(help="The witness's name, when its key is made.")
    ] = "witness.local/concord",
) -> None:
    """Print the witness's public key (name+id+key, cosignature/v1), making it on first use.

    Example: concord audit witness-key --state ./w
    """
    from audit.witness import Witness

    print(Witness.in_state(state, name).key.encode())


@app.command()
def export(
    decision_id: Id,
    output: Annotated[Path, typer.Option("-o", "--output", help="The file to write.")],
    format: Annotated[
        str, typer.Option("--format", help="jsonl, csv, or html (a self-contained page).")
    ] = "html",
    evidence_file: Annotated[
        Path | None,
        typer.Option(
            "--evidence",
            help="Where jsonl and csv write their evidence (default: OUTPUT.evidence.json).",
        ),
    ] = None,
) -> None:
    """Export a decision as evidence: its events as the log hashed them (jsonl, csv) with an
    evidence file (a signed checkpoint and each event's inclusion proof), or its timeline as
    one HTML page that embeds both. With witnesses, the checkpoint is the earliest a quorum of
    them cosigned that holds every event, cosignatures included.

    Example: concord audit export d-terror --format jsonl -o d-terror.jsonl
    """
    from audit.cosigning import earliest_cosigned
    from audit.export import FORMATS, csv_text, evidence, html_page, jsonl
    from audit.tree import caught_up
    from domain.council import KEYS_STREAM
    from domain.decider import replay
    from runtime.witnesses import witness_policy
    from store.decision_events import domain_event

    if format not in FORMATS:
        raise InvalidInput("format", f"one of {', '.join(FORMATS)}, not {format!r}")
    if evidence_file is not None and format == "html":
        raise InvalidInput("evidence", "the HTML page embeds its evidence")

    async def work() -> None:
        current = settings()
        async with event_store(current) as store:
            events = await store.stream(decision_id)
            if not events:
                raise NotFound(f"no decision {decision_id}")
            registry = await store.stream(KEYS_STREAM)
            bound = None
            if current.signing_key_file.exists():
                key = signer(current)
                tree = await caught_up(store)
                made = await cp.checked(store, tree, current.log_origin, key.verifier)
                signed = key.sign(made.text())
                policy = witness_policy(current)
                if policy is not None:  # the witnesses' word, when they have cosigned it all
                    last = max(e.position for e in (events[-1], *registry[-1:]))
                    witnessed = await earliest_cosigned(store, policy, key.verifier, last)
                    if witnessed is not None:
                        signed, made, _ = witnessed
                bound = await evidence(
                    tree, decision_id, events, signed, made, key.verifier.encode(), registry
                )
            if format == "html":
                state = replay(domain_event(e) for e in events)
                assert state is not None
                refused = await store.refusals.read(decision_id=decision_id, limit=10_000)
                write(html_page(state, events, refused, bound), output)
                out.print(f"{decision_id} exported to {output} (html)")
                return
        write(jsonl(events) if format == "jsonl" else csv_text(events), output)
        out.print(f"{decision_id} exported to {output} ({format})")
        if bound is None:
            out.print(f"no evidence written: no signing key at {current.signing_key_file}")
            return
        where = evidence_file or output.with_name(output.name + ".evidence.json")
        write(bound.model_dump_json(indent=2), where)
        out.print(f"its evidence written to {where}")

    run(work())
