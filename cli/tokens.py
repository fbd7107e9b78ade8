"""`concord tokens`: access tokens for delegations, the secretariat and auditors."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.parsing import parse_duration
from cli.session import JsonOption, emit, event_store, out, principal, run, settings
from domain.errors import InvalidInput
from runtime.access import Role, Tokens
from store.tokens import TokenRecord

app = typer.Typer(no_args_is_help=True)
"""Its help line is cli.app's, which lists it without importing it."""


def _document(record: TokenRecord) -> dict[str, object]:
    return {
        "token_id": record.token_id,
        "principal": record.principal,
        "issued_at": record.issued_at.isoformat(),
        "issued_by": record.issued_by,
        "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        "revoked_by": record.revoked_by,
    }


@app.command("issue")
def issue(
    member: Annotated[str | None, typer.Option(help="A delegation's code, e.g. RUS.")] = None,
    operator: Annotated[str | None, typer.Option(help="A secretariat operator's name.")] = None,
    auditor: Annotated[str | None, typer.Option(help="An auditor's name.")] = None,
    expires: Annotated[
        str | None, typer.Option(help="Valid for this long, e.g. 90d (default: until revoked).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Issue a token and print it, once: only its hash is kept.

    Example: concord tokens issue --member RUS --expires 90d
    """
    given = ((Role.MEMBER, member), (Role.OPERATOR, operator), (Role.AUDITOR, auditor))
    named = [(role, name) for role, name in given if name is not None]
    if len(named) != 1:
        raise InvalidInput("member", "give exactly one of --member, --operator, --auditor")
    [(role, name)] = named
    lifetime = parse_duration(expires, "expires") if expires else None

    async def work() -> None:
        current = settings()
        async with event_store(current) as store:
            issued = await Tokens(store).issue(role, name, principal(current), lifetime)

        def human() -> None:
            out.print(f"token {issued.record.token_id} for {issued.record.principal}:")
            out.print(issued.token, soft_wrap=True)
            out.print("Keep it: it is shown only now.")

        emit({**_document(issued.record), "token": issued.token}, as_json, human)

    run(work())


@app.command("list")
def list_tokens(as_json: JsonOption = False) -> None:
    """List the tokens issued (never their secrets).

    Example: concord tokens list
    """

    async def work() -> None:
        async with event_store() as store:
            records = await Tokens(store).list()

        def human() -> None:
            table = Table("id", "principal", "issued", "by", "expires", "revoked")
            for r in records:
                table.add_row(
                    r.token_id,
                    r.principal,
                    r.issued_at.isoformat(timespec="seconds"),
                    r.issued_by,
                    r.expires_at.isoformat(timespec="seconds") if r.expires_at else "",
                    r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "",
                )
            out.print(table)

        emit({"tokens": [_document(r) for r in records]}, as_json, human)

    run(work())


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id.")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a token: it is refused from now on.

    Example: concord tokens revoke 3f2a9c0d1e4b5a69
    """

    async def work() -> None:
        current = settings()
        async with event_store(current) as store:
            record = await Tokens(store).revoke(token_id, principal(current))
        emit(_document(record), as_json, lambda: out.print(f"token {token_id} revoked"))

    run(work())
