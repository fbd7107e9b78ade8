"""`concord webhooks`: endpoints told, signed, of the notable events that concern a delegation
or the secretariat, and how their deliveries went."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.session import JsonOption, emit, event_store, out, principal, run, settings, shown
from runtime.webhooks import WebhookRegistration
from store.councils import Councils
from store.webhooks import participant_principal

app = typer.Typer(no_args_is_help=True)
"""Its help line is cli.app's, which lists it without importing it."""


@app.command("add")
def add(
    url: Annotated[str, typer.Option(help="An http:// or https:// URL Concord POSTs to.")],
    member: Annotated[
        str | None,
        typer.Option(help="The member (or body) it serves, e.g. RUS; without it, the secretariat."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Register a webhook and print its signing secret, once. A URL whose host is, or resolves
    to, a loopback, private, link-local or reserved address is refused (exit 2) unless
    CONCORD_WEBHOOK_ALLOW_NETWORKS allows its network.

    Example: concord webhooks add --member RUS --url https://mfa.example/concord
    """

    async def work() -> None:
        current = settings()
        operator = principal(current)
        registration = WebhookRegistration.from_settings(current)
        async with event_store(current) as store:
            rosters = await Councils(store).roster_book()
            served = participant_principal(member, rosters) if member else operator
            record, secret = await registration.register(store, served, url, operator)

        def human() -> None:
            out.print(f"webhook {record.webhook_id} for {record.principal}: {shown(record.url)}")
            out.print(f"signing secret: {secret}", soft_wrap=True)
            out.print("Keep it: it is shown only now.")

        emit({**record.model_dump(mode="json"), "secret": secret}, as_json, human)

    run(work())


@app.command("list")
def list_webhooks(as_json: JsonOption = False) -> None:
    """List the webhooks in use (never their secrets).

    Example: concord webhooks list
    """

    async def work() -> None:
        async with event_store() as store:
            records = await store.webhooks.in_use()

        def human() -> None:
            table = Table("id", "principal", "url", "created", "by")
            for r in records:
                table.add_row(
                    r.webhook_id,
                    r.principal,
                    shown(r.url),
                    r.created_at.isoformat(timespec="seconds"),
                    r.created_by,
                )
            out.print(table)

        emit({"webhooks": [r.model_dump(mode="json") for r in records]}, as_json, human)

    run(work())


@app.command("remove")
def remove(
    webhook_id: Annotated[str, typer.Argument(metavar="ID", help="The webhook's id.")],
    as_json: JsonOption = False,
) -> None:
    """Remove a webhook: nothing more is sent to it, and its pending deliveries stop.

    Example: concord webhooks remove 3f2a9c0d1e4b5a69
    """

    async def work() -> None:
        async with event_store() as store:
            record = await store.webhooks.remove(webhook_id)
        emit(
            record.model_dump(mode="json"),
            as_json,
            lambda: out.print(f"webhook {webhook_id} removed"),
        )

    run(work())


@app.command("deliveries")
def deliveries(
    webhook: Annotated[str | None, typer.Option(help="Only this webhook's deliveries.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """Deliveries, the latest attempted first: attempts, last outcome, when delivered.

    Example: concord webhooks deliveries --webhook 3f2a9c0d1e4b5a69
    """

    async def work() -> None:
        async with event_store() as store:
            if webhook is not None:
                await store.webhooks.get(webhook)  # NotFound (exit 4) for an unknown id
            records = await store.webhooks.deliveries(webhook, limit)

        def human() -> None:
            table = Table("delivery", "event", "decision", "attempts", "last", "delivered")
            for r in records:
                table.add_row(
                    r.delivery_id,
                    r.event_type,
                    r.decision_id,
                    str(r.attempts),
                    shown(r.last_status),
                    r.delivered_at.isoformat(timespec="seconds") if r.delivered_at else "no",
                )
            out.print(table)

        emit({"deliveries": [r.model_dump(mode="json") for r in records]}, as_json, human)

    run(work())
