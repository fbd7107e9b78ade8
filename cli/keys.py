"""`concord keys`: members' signing keys. A delegation generates its key where it keeps it, and
hands the secretariat a request its key signed; the secretariat records it in the log's key
registry. A rotation signed by the key in force is the member's own; any other change is on the
chair's authority, and every list says so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.session import JsonOption, emit, event_store, out, principal, run, settings
from domain.errors import InvalidInput

app = typer.Typer(no_args_is_help=True)
"""Its help line is cli.app's, which lists it without importing it."""

FLAGGED = "on the chair's authority: not signed by the member's key"
"""What every list says of a key a member's own key did not put in force."""

MemberOption = Annotated[str, typer.Option("--member", help="The delegation's code, e.g. RUS.")]


@app.command("generate")
def generate(
    member: MemberOption,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The new key's file (never overwritten).")
    ],
    replacing: Annotated[
        Path | None,
        typer.Option(help="The key in force, to endorse the new one (a rotation)."),
    ] = None,
    origin: Annotated[
        str | None,
        typer.Option(
            help="The log the key is for: the first line of its checkpoints (default: this "
            "installation's, CONCORD_LOG_ORIGIN)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Generate a delegation's signing key, and the request that registers it.

    The key goes to the file named (readable by its owner alone); the request, signed by the
    new key (and by the key it replaces, with --replacing), to the same name with `.request`
    added. Give the request to the secretariat: it holds no secret.

    Example: concord keys generate --member RUS -o rus.key --origin nrc.example/concord
    """
    from audit.keys import KeyRequest
    from audit.signing import MemberKey

    if not member.isascii() or not member.isupper():
        raise InvalidInput("member", f"{member!r} is not a delegation's code (e.g. RUS)")
    old = MemberKey.load(replacing) if replacing is not None else None
    key = MemberKey.generate(member)
    request = KeyRequest.made(origin or settings().log_origin, key, old)
    request_path = output.with_name(output.name + ".request")
    if request_path.exists():
        raise InvalidInput("output", f"{request_path} exists: a request is never overwritten")
    key.save(output)
    request_path.write_text(json.dumps(request.document(), indent=2) + "\n", encoding="utf-8")
    document = {"member": member, "key_id": key.key_id, "key_file": str(output)}
    document["request_file"] = str(request_path)

    def human() -> None:
        out.print(f"key {key.key_id} for {member} in {output} (keep it: it signs in your name)")
        out.print(f"request in {request_path}: the secretariat registers it")

    emit(document, as_json, human)


@app.command("register")
def register(
    request: Annotated[Path, typer.Argument(help="The request `concord keys generate` wrote.")],
    as_json: JsonOption = False,
) -> None:
    """Record a delegation's key in force, from its request.

    A request endorsed by the member's key in force is the member's own change; any other
    (a first key, or one replacing a lost key) is recorded on the chair's authority, and shown
    as such wherever the key appears.

    Example: concord keys register rus.key.request
    """
    from audit.keys import KeyBook, KeyRequest
    from store.council_events import council_event

    asked = KeyRequest.load(request)

    async def work() -> None:
        current = settings()
        async with event_store(current) as store:
            stored = await KeyBook(store, current.log_origin).register(asked, principal(current))
        event = council_event(stored)
        document = event.model_dump(mode="json")

        def human() -> None:
            on = (
                "its member's own key"
                if document["authority"] == "member"
                else ("the chair's authority (no key of the member signed it)")
            )
            out.print(f"{document['member']}: {document['key_id']} in force, on {on}")

        emit(document, as_json, human)

    run(work())


@app.command("revoke")
def revoke(
    member: MemberOption,
    sign_key: Annotated[
        Path | None,
        typer.Option(help="The key itself, so that the revocation is the member's own act."),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why, for the record.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Take a delegation's key out of force, with no successor.

    Example: concord keys revoke --member RUS --sign-key rus.key --reason "Replaced device"
    """
    from audit.keys import KeyBook, revocation_signature
    from audit.signing import MemberKey
    from store.council_events import council_event

    own = MemberKey.load(sign_key) if sign_key is not None else None
    if own is not None and own.member != member:
        raise InvalidInput("sign_key", f"{sign_key} is {own.member}'s key, not {member}'s")

    async def work() -> None:
        current = settings()
        endorsement = revocation_signature(current.log_origin, own) if own else None
        async with event_store(current) as store:
            stored = await KeyBook(store, current.log_origin).revoke(
                member, principal(current), endorsement, reason
            )
        document = council_event(stored).model_dump(mode="json")
        emit(document, as_json, lambda: out.print(f"{member}: {document['key_id']} revoked"))

    run(work())


@app.command("list")
def list_keys(as_json: JsonOption = False) -> None:
    """List every delegation's keys: when each was in force, and on whose authority.

    Example: concord keys list
    """
    from audit.keys import KeyBook

    async def work() -> None:
        current = settings()
        async with event_store(current) as store:
            registry = await KeyBook(store, current.log_origin).registry()
        periods = registry.listed()
        rows = [p.document() for p in periods]

        def human() -> None:
            if not periods:
                out.print("no keys registered")
                return
            for p in periods:
                until = f"{p.until:%Y-%m-%d %H:%M} UTC ({p.ended})" if p.until else "now"
                out.print(f"{p.member} {p.key_id}  {p.since:%Y-%m-%d %H:%M} UTC to {until}")
                if p.flagged:
                    out.print(
                        "    [bold]on the chair's authority: not signed by the member's key[/]"
                    )

        emit({"keys": rows}, as_json, human)

    run(work())
