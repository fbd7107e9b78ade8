"""The reference scenario of the seeds, end to end, with the audit at the end (`concord demo`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from audit.keys import KeyBook, KeyRequest
from audit.replay import replay_decision
from audit.signing import MemberKey
from audit.verify import verify_log
from cli.session import out, principal
from cli.transparency import new_signing_key
from domain.checks import spoken
from domain.commands import MemberAnswer, command_of
from domain.errors import InvalidHistory, Unavailable
from domain.roster import RosterBook
from runtime.bootstrap import embedded_stack
from runtime.decisions import DecisionClient
from runtime.logging import configure_logging
from runtime.settings import Settings, load_settings
from runtime.temporal import connect
from store.councils import Councils
from store.eventstore import EventStore, open_store
from workflows.messages import Receipt

DRAFT = (
    "The NATO-Russia Council categorically rejects terrorism in all its manifestations and "
    "agrees on joint assessments of the terrorist threat, exchange of information on "
    "terrorist financing, and civil emergency planning against terrorist attacks."
)
AMENDED = DRAFT + " Cooperation is conducted in conformity with the UN Charter."
AGREED = AMENDED + (
    " The Preparatory Committee monitors implementation and reports back to NRC Ambassadors."
)


class Timeline:
    """Sends the scenario's commands and prints each accepted one as a line of the timeline."""

    def __init__(
        self,
        decisions: DecisionClient,
        settings: Settings,
        decision_id: str,
        keys: dict[str, MemberKey] | None = None,
    ) -> None:
        self.decisions = decisions
        self.recorded_by = principal(settings)
        self.origin = settings.log_origin
        self.decision_id = decision_id
        self.keys = keys or {}
        """Each delegation's own key: it signs the delegation's answers."""
        self.started = time.monotonic()

    def line(self, who: str, what: str) -> None:
        out.print(
            f"[dim]{time.monotonic() - self.started:5.1f}s[/dim]  [bold]{who:<6}[/bold] {what}"
        )

    async def do(
        self, kind: str, actor: str, what: str, quiet: bool = False, **fields: Any
    ) -> Receipt:
        command = command_of(kind, self.decision_id, actor, self.recorded_by, **fields)
        if isinstance(command, MemberAnswer) and actor in self.keys:
            command = self.keys[actor].sign_answer(command, self.origin, str(uuid.uuid4()))
        receipt = await self.decisions.give(command)
        if not quiet:
            types = ", ".join(receipt.event_types)
            self.line(actor, f"{what}  [dim]→ {types} (v{receipt.stream_version})[/dim]")
        return receipt

    async def round_members(self, number: int) -> tuple[str, tuple[str, ...]]:
        status = await self.decisions.status(self.decision_id)
        assert status.state is not None
        r = status.state.round(number)
        return r.text_hash, r.members

    async def wait_for(self, state: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = await self.decisions.status(self.decision_id)
            if status.state is not None and status.state.status.value == state:
                return
            await asyncio.sleep(0.25)
        raise Unavailable(f"decision {self.decision_id} did not become {state} in {timeout} s")


def _in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def scenario(t: Timeline) -> None:
    """The 2004 Action Plan on Terrorism, compressed into seconds."""
    await t.do(
        "submit_proposal",
        "POL",
        "proposes an Action Plan on Terrorism",
        title="NATO-Russia Action Plan on Terrorism",
        text=DRAFT,
        area="struggle_against_terrorism",
    )
    await t.do("refer", "chair", "refers it to the Preparatory Committee")
    await t.do(
        "complete_review", "PC", "amends the text and forwards it", outcome="amend", text=AMENDED
    )
    await t.do("open_round", "chair", "opens round 1 under silence procedure", deadline=_in(60))
    text_hash, members = await t.round_members(1)
    await asyncio.gather(
        *(t.do("concur", m, "concurs", round=1, text_hash=text_hash) for m in ("USA", "GBR", "FRA"))
    )
    await t.do(
        "break_silence",
        "RUS",
        "breaks silence",
        round=1,
        text_hash=text_hash,
        reasons="Financing measures must cover all channels named by the UN",
    )
    await t.do("close_round", "chair", "closes round 1: consensus failed", round=1)
    await t.do(
        "complete_review",
        "PC",
        "amends the text and forwards it again",
        outcome="amend",
        text=AGREED,
    )
    await t.do(
        "open_round",
        "chair",
        "opens round 2, silence until +6s",
        deadline=_in(6),
        reminder_before_seconds=3,
    )
    text_hash, members = await t.round_members(2)
    await t.do(
        "register_concern",
        "NOR",
        "registers a concern",
        round=2,
        statement="Human rights safeguards must be reported on",
    )
    await asyncio.gather(
        *(t.do("concur", m, "concurs", round=2, text_hash=text_hash) for m in ("USA", "DEU", "ITA"))
    )
    t.line("", "... the others stay silent until the deadline")
    await t.wait_for("adopted")
    t.line("clock", "silence held: adopted by silence, with NOR's concern attached")
    await t.do(
        "plan_implementation",
        "chair",
        "plans the implementation",
        action_items=[
            {
                "item_id": "A1",
                "description": "Joint assessments of the terrorist threat",
                "assignee": {"kind": "all_members"},
            },
            {
                "item_id": "A2",
                "description": "Exchange on terrorist financing",
                "assignee": {"kind": "member", "code": "RUS"},
            },
            {
                "item_id": "A3",
                "description": "Monitor and report back to Ambassadors",
                "assignee": {"kind": "body", "code": "PC"},
            },
        ],
        monitoring_body="PC",
        report_back_deadline=_in(180 * 86_400),
    )
    await t.do(
        "report_progress",
        "USA",
        "reports progress",
        item_id="A1",
        summary="Threat assessment for peacekeeping forces drafted",
    )
    await t.do(
        "report_progress",
        "RUS",
        "reports progress",
        item_id="A2",
        summary="Financial intelligence units exchanged contacts",
    )
    await t.do(
        "raise_issue",
        "POL",
        "raises an implementation issue",
        title="Uneven contributions to the threat assessment",
    )
    await t.do(
        "propose_issue_resolution",
        "chair",
        "puts a resolution under silence",
        issue=1,
        text="Each member contributes a national assessment by the next "
        "Preparatory Committee meeting.",
        deadline=_in(60),
    )
    text_hash, members = await t.round_members(3)
    await asyncio.gather(
        *(t.do("concur", m, "concurs", quiet=True, round=3, text_hash=text_hash) for m in members)
    )
    t.line("", f"all {len(members)} members concurred: issue 1 settled")
    await t.do(
        "report_progress",
        "GBR",
        "reports its part",
        item_id="A1",
        summary="National threat assessment contributed",
    )
    for item, actor in (("A1", "PC"), ("A2", "RUS"), ("A3", "PC")):
        await t.do("complete_action_item", actor, f"completes {item}", item_id=item)
    await t.do(
        "report_progress",
        "PC",
        "reports back to NRC Ambassadors",
        summary="All action items implemented",
    )
    await t.do(
        "complete", "chair", "records the decision as completed", summary="Implemented in full"
    )


@contextlib.asynccontextmanager
async def _stack(settings: Settings) -> AsyncIterator[tuple[DecisionClient, EventStore]]:
    """A running stack at the configured address if there is one, else the embedded one."""
    try:
        client = await connect(settings.temporal_address, settings.temporal_namespace)
    except Unavailable:
        out.print(f"Starting the embedded stack in {settings.data_dir} ...")
        if not settings.signing_key_file.exists():
            new_signing_key(settings)
            out.print(
                f"Made the log's signing key at {settings.signing_key_file}: the stack signs "
                f"checkpoints of origin {settings.log_origin} with it."
            )
        async with embedded_stack(settings) as stack:
            yield stack.decisions, stack.store
        return
    out.print(f"Using the running stack at {settings.temporal_address}")
    store = await open_store(settings.database_url)
    try:
        yield DecisionClient.configured(client, settings, Councils(store).roster_book), store
    finally:
        await store.close()


async def _compressed(store: EventStore) -> tuple[RosterBook, timedelta]:
    """The council in force without its minimum silence period (and its bodies' own), so that
    the demo's rounds close in seconds; and that minimum, to say so."""
    council = await Councils(store).in_force()
    return council.without_minimum_silence().roster_book(), council.minimum_silence


async def delegations_keys(store: EventStore, settings: Settings) -> dict[str, MemberKey]:
    """A key of its own for each of the council's delegations, kept in the data directory's
    `keys/` (made once), each in force in the key registry (registered on the chair's
    authority, as a first key is)."""
    directory = Path(settings.data_dir) / "keys"
    directory.mkdir(mode=0o700, exist_ok=True)
    book = KeyBook(store, settings.log_origin)
    registry = await book.registry()
    keys: dict[str, MemberKey] = {}
    for member in (await Councils(store).in_force()).members:
        path = directory / f"{member.code}.key"
        if path.exists():
            key = MemberKey.load(path)
        else:
            key = MemberKey.generate(member.code)
            key.save(path)
        current = registry.current(member.code)
        if current is None or current.key_id != key.key_id:
            await book.register(KeyRequest.made(settings.log_origin, key), principal(settings))
        keys[member.code] = key
    return keys


async def run_demo(data_dir: str | None) -> None:
    """The reference scenario on a stack of its own, then the audit of what it left."""
    settings = load_settings(data_dir=data_dir)
    configure_logging(settings.log_format, level=30)
    async with _stack(settings) as (running, store):
        book, minimum = await _compressed(store)

        async def rosters() -> RosterBook:
            return book

        decisions = DecisionClient.configured(running.temporal, settings, rosters)
        out.print(
            f"The demo compresses the procedure into seconds: its decision is taken without the "
            f"council's minimum silence period ({spoken(minimum)})."
            if minimum
            else "The demo compresses the procedure into seconds."
        )
        keys = await delegations_keys(store, settings)
        out.print(
            f"Each of the {len(keys)} delegations signs its answers with a key of its own "
            f"({Path(settings.data_dir) / 'keys'})."
        )
        decision_id = f"action-plan-terrorism-{datetime.now(UTC):%Y%m%d%H%M%S}"
        timeline = Timeline(decisions, settings, decision_id, keys)
        await scenario(timeline)
        outcome = await decisions.outcome(decision_id, timeout=120)
        await store.archive.awaited(decision_id, outcome.runs, within=30)
        timeline.line("", f"the workflow closed ({outcome.status}); its history is archived")
        out.print("\nAudit:")
        report = await verify_log(store, origin=settings.log_origin)
        own, changes = len(await store.stream(decision_id)), report.key_changes_checked
        rest = report.events_checked - own - changes
        binding = "history" if rest == 1 else "histories or of earlier decisions"
        said = f"the decision's {own}, the key registry's {changes}, and {rest} binding archived "
        said += binding
        total = f"{report.events_checked} events ({said}), head {report.head_hash[:16]}..."
        if not report.ok:
            raise InvalidHistory(f"the log does not verify: {report.breaks}")
        out.print(f"[green]verified[/green] the whole hash chain: {total}")
        out.print(
            f"[green]verified[/green] {report.answers_signed} answers signed by their members, "
            f"{report.answers_unsigned} unsigned"
        )
        replayed = await replay_decision(store, decision_id)
        if not replayed.ok:
            raise InvalidHistory("the replay does not match: " + "; ".join(replayed.failures))
        out.print(
            f"[green]replayed[/green] {replayed.runs} archived run(s) on the current code: "
            f"{replayed.events_implied} events implied, the same as in the log"
        )
        out.print("See it:")
        for command in ("status", "audit history", "audit replay"):
            out.print(f"  .venv/bin/concord {command} {decision_id}", soft_wrap=True)
