"""`concord audit monitor`: an auditor's monitor of a Concord log over HTTP, from any machine,
with the log's verifier key and a directory of its own; it alarms on a fork, a rollback, or an
entry that does not hash (audit.monitor)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

import httpx
import orjson
import typer
from prometheus_client import Counter
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from audit.monitor import monitor_pass
from audit.note import Verifier
from audit.served import ServedLog
from cli.parsing import read_text_file
from cli.session import JsonOption, emit, out, run, settings
from cli.transparency import verifier_from
from domain.errors import AuditFailed, InvalidInput, NotFound, Unavailable

app = typer.Typer()

ALARMS: Final = Counter(
    "concord_monitor_alarms",
    "Passes of `concord audit monitor` that found the log forked, rolled back, changed, or "
    "withholding what it signed.",
)


class MonitorSettings(BaseSettings):
    """The monitor's token from the environment, never from the command line (which every
    user of the machine can read)."""

    model_config = SettingsConfigDict(env_prefix="CONCORD_MONITOR_", extra="ignore")

    token: SecretStr | None = None


def token_from(token_file: Path | None) -> str | None:
    """The token that may read entry bundles: the file's, else CONCORD_MONITOR_TOKEN's."""
    if token_file is not None:
        field, token = "token-file", read_text_file(token_file, "token-file").strip()
    else:
        found = MonitorSettings().token
        if found is None:
            return None
        field, token = "CONCORD_MONITOR_TOKEN", found.get_secret_value().strip()
    if not token or any(c.isspace() or not c.isprintable() for c in token):
        raise InvalidInput(field, "a token is one word on one line")
    return token


@dataclass(frozen=True)
class AlarmWebhook:
    """Where a following monitor sends its alarms: a JSON POST, signed as Concord's webhooks
    are (`Concord-Signature: t=<unix seconds>,v1=<HMAC-SHA256 hex>`) when given a secret."""

    url: str
    secret: str | None

    async def send(self, log_url: str, origin: str, alarm: str, bound: Any) -> None:
        from activities.webhooks import SIGNATURE_HEADER, signature

        now = int(time.time())
        body = orjson.dumps(
            {"event": "monitor.alarm", "log": log_url, "origin": origin, "alarm": alarm,
             "at": now}
        )  # fmt: skip
        headers = {"Content-Type": "application/json"}
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = signature(self.secret, body, now)
        try:
            async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as http:
                answer = await http.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as error:
            bound.warning("alarm not delivered", webhook=self.url, error=type(error).__name__)
            return
        if answer.status_code >= 300:
            bound.warning("alarm not delivered", webhook=self.url, status=answer.status_code)


def alarm_webhook(url: str | None, secret_file: Path | None) -> AlarmWebhook | None:
    """The alarm webhook the options name; InvalidInput naming the option otherwise."""
    if url is None:
        if secret_file is not None:
            raise InvalidInput("webhook-secret-file", "goes with --webhook")
        return None
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("webhook", f"an http(s) URL, not {url[:80]!r}")
    secret = None
    if secret_file is not None:
        secret = read_text_file(secret_file, "webhook-secret-file").strip()
        if not secret:
            raise InvalidInput("webhook-secret-file", f"{secret_file} is empty")
    return AlarmWebhook(url, secret)


def state_directory(state: Path) -> Path:
    """The monitor's directory, made (mode 0700) if it is not there."""
    try:
        state.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise InvalidInput("state", f"cannot make {state}: {error.strerror}") from None
    if not state.is_dir():
        raise InvalidInput("state", f"{state} is not a directory")
    return state


@app.command("monitor")
def monitor_command(
    url: Annotated[
        str, typer.Argument(metavar="URL", help="The API's base, e.g. http://127.0.0.1:8000.")
    ],
    key: Annotated[str, typer.Option(help="The log's verifier key (name+id+key), or a file.")],
    state: Annotated[
        Path, typer.Option(help="The monitor's directory: what it verified of each log.")
    ],
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="A file holding a token that may read the events (else CONCORD_MONITOR_TOKEN); "
            "without one, the growth is checked with hash tiles only."
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", help="Check again every --interval, until stopped.")
    ] = False,
    interval: Annotated[
        float, typer.Option(help="Seconds between passes with --follow.", min=0.1)
    ] = 60.0,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="With --follow, serve concord_monitor_alarms for Prometheus on this port.",
            min=1,
            max=65535,
        ),
    ] = None,
    webhook: Annotated[
        str | None,
        typer.Option(help="With --follow, POST each alarm (JSON) to this http(s) URL."),
    ] = None,
    webhook_secret_file: Annotated[
        Path | None,
        typer.Option(
            help="A file holding the secret the webhook's Concord-Signature header is made with "
            "(HMAC-SHA256, as Concord's own webhooks)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a Concord log over HTTP against what this monitor verified before: the signed
    checkpoint never shrinks (rollback) nor changes its root (fork), the served tiles still
    make the tree verified, and every new entry is canonical, at its position, chained to its
    decision's last event and in the signed tree. Exit 0 when it holds, 1 on an alarm (the
    state is then left as it was).

    Example: concord audit monitor https://log.example --key log.vkey --state ./mon --follow
    """
    verifier = verifier_from(key, "key")
    directory = state_directory(state)
    served = ServedLog(url, token_from(token_file))
    alarm_hook = alarm_webhook(webhook, webhook_secret_file)
    if not follow and alarm_hook is not None:
        raise InvalidInput("webhook", "alarms are sent to a webhook with --follow")
    if follow:
        run(following(served, verifier, directory, interval, metrics_port, alarm_hook))
        return

    async def work() -> None:
        async with served:
            verified = await monitor_pass(served, verifier, directory)
        emit(
            verified.document(),
            as_json,
            lambda: out.print(f"[green]verified[/green] {verified.line()}"),
        )

    run(work())


async def following(
    served: ServedLog,
    verifier: Verifier,
    directory: Path,
    interval: float,
    metrics_port: int | None,
    alarm_hook: AlarmWebhook | None = None,
) -> None:
    """A pass every `interval` seconds until SIGTERM or SIGINT: an alarm is logged, counted
    and sent to the webhook, and the next pass starts again from the last state verified; a log
    out of reach is logged and tried again."""
    import structlog  # what --follow alone needs: a single pass logs nothing, serves nothing
    from prometheus_client import start_http_server

    from runtime.logging import configure_logging
    from runtime.process import stop_on_signals

    configure_logging(settings().log_format)
    if metrics_port is not None:
        start_http_server(metrics_port)
    stop = asyncio.Event()
    stop_on_signals(stop)
    bound = structlog.get_logger(__name__).bind(log_url=served.url, origin=verifier.name)
    async with served:
        while not stop.is_set():
            try:
                verified = await monitor_pass(served, verifier, directory)
            except AuditFailed as alarm:
                ALARMS.inc()
                bound.error("monitor alarm", alarm=alarm.message)
                if alarm_hook is not None:
                    await alarm_hook.send(served.url, verifier.name, alarm.message, bound)
            except (Unavailable, NotFound) as away:
                bound.warning("log not checked", error=away.line())
            else:
                bound.info("log verified", **verified.document())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    bound.info("monitor stopped")
