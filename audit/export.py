"""Evidence exports of one decision: its events as JSON lines or CSV, and a self-contained HTML
timeline (no network, no script, no external style).

Each exported event carries every field its hash covers as the log stored it (the document whose
RFC 8785 canonical bytes are the entry), with `prev_hash` and `hash`; the evidence bundle beside
it holds a signed checkpoint and each event's inclusion proof. From the files and the log's
public key alone, anyone recomputes each hash and each leaf, and proves every event in the
signed tree (docs/auditing.md names a script that imports nothing of Concord's)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any, Final, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from audit import merkle, note
from audit.answers import Signed, checked_answer
from audit.checkpoint import Checkpoint, b64, open_checkpoint, unb64
from audit.tree import StoredTree
from domain.council import KEYS_STREAM
from domain.declarations import SIGNED_BY_EVENT
from domain.errors import AuditFailed, InvalidHistory, InvalidInput
from domain.state import ConsensusRound, DecisionState
from domain.transcript import Transcript, transcript
from domain.values import visible
from store.council_events import registry_of
from store.decision_events import domain_event
from store.hashing import GENESIS_HASH, canonical_json, chain_hash
from store.records import BodyRow, StoredEvent, stored_event
from store.side_records import StoredRefusal
from store.upcasting import upcasters

FORMATS: Final = ("jsonl", "csv", "html")
HASHED_FIELDS: Final = (
    "position",
    "event_id",
    "decision_id",
    "stream_version",
    "type",
    "schema_version",
    "actor",
    "recorded_by",
    "occurred_at",
    "recorded_at",
    "stream_prev_hash",
    "payload",
)
"""The fields of the document whose canonical bytes an event's hash covers (store.hashing)."""
CSV_COLUMNS: Final = (*HASHED_FIELDS, "prev_hash", "hash")
"""CSV's columns: the hashed fields (the payload as its canonical JSON text), then the chain."""


def event_document(event: StoredEvent) -> dict[str, Any]:
    """The event as the log hashed it: its stored entry's fields (the payload at the schema it
    was stored with, instants as stored), with the hash before it and its own."""
    document: dict[str, Any] = orjson.loads(event.body)
    return {**document, "prev_hash": event.prev_hash, "hash": event.hash}


def jsonl(events: Sequence[StoredEvent]) -> str:
    """One canonical JSON document per line (UTF-8, keys sorted, no spaces)."""
    return "".join(canonical_json(event_document(e)).decode() + "\n" for e in events)


def csv_text(events: Sequence[StoredEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        document = event_document(event)
        document["payload"] = canonical_json(document["payload"]).decode()
        writer.writerow([document[column] for column in CSV_COLUMNS])
    return out.getvalue()


class EventProof(BaseModel):
    model_config = ConfigDict(frozen=True)

    position: int
    index: int
    """The leaf: position - 1."""
    proof: list[str]
    """RFC 9162 inclusion path from the event's leaf to the checkpoint's root, base64 hashes."""


class Evidence(BaseModel):
    """What binds an export to the log: a signed checkpoint, the key that signed it, and every
    exported event's inclusion proof in its tree (leaf = SHA-256(0x00 || canonical entry))."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["evidence"] = "evidence"
    decision_id: str
    checkpoint: str
    """The signed checkpoint (C2SP tlog-checkpoint, a signed note) the proofs are against."""
    key: str
    """The log's verifier key, to compare with the one the auditor holds (never to trust)."""
    proofs: list[EventProof]
    key_registry: list[dict[str, Any]] = Field(default_factory=list)
    """The key registry's events (stream `council.keys`) as the log hashed them, in order,
    each with its inclusion proof among `proofs`: with them each signed answer of the export is
    checked against its member's key in force when it was recorded (docs/auditing.md)."""


async def evidence(
    tree: StoredTree,
    decision_id: str,
    events: Sequence[StoredEvent],
    signed: str,
    checkpoint: Checkpoint,
    key: str,
    registry: Sequence[StoredEvent] = (),
) -> Evidence:
    """Each event's inclusion proof in `checkpoint`'s tree, which holds them all, and the key
    registry's changes (`registry`) that tree holds, with theirs."""
    registry = [e for e in registry if e.position <= checkpoint.size]
    proofs = [
        EventProof(
            position=e.position,
            index=e.position - 1,
            proof=b64(await tree.inclusion(e.position - 1, checkpoint.size)),
        )
        for e in (*events, *registry)
    ]
    return Evidence(
        decision_id=decision_id,
        checkpoint=signed,
        key=key,
        proofs=proofs,
        key_registry=[event_document(e) for e in registry],
    )


def entry_of(document: dict[str, Any]) -> bytes:
    """An exported event's entry: the canonical bytes of its hashed fields."""
    return canonical_json({field: document[field] for field in HASHED_FIELDS})


def read_export(text: str, field: str) -> list[dict[str, Any]]:
    """The events of a JSONL or CSV export, as documents; InvalidInput naming `field` and the
    line for anything that is not one."""
    lines = text.splitlines()
    if lines and lines[0] == ",".join(CSV_COLUMNS):
        documents = []
        for number, row in enumerate(csv.DictReader(io.StringIO(text)), 2):
            try:
                document: dict[str, Any] = dict(row)
                for name in ("position", "stream_version", "schema_version"):
                    document[name] = int(row[name])
                document["payload"] = json.loads(row["payload"])
            except (ValueError, TypeError):
                raise InvalidInput(field, f"line {number} is not an exported event") from None
            documents.append(document)
        return documents
    documents = []
    for number, line in enumerate(lines, 1):
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            raise InvalidInput(field, f"line {number} is not JSON") from None
        if not isinstance(document, dict):
            raise InvalidInput(field, f"line {number} is not an exported event")
        documents.append(document)
    return documents


def check_export(
    documents: Sequence[dict[str, Any]], bound: Evidence, verifier: note.Verifier
) -> str:
    """Check a decision's exported events against their evidence with the public key alone:
    each event's fields hash to its hash, the events are the decision's whole stream in order,
    each linked to the one before, and each is in the signed checkpoint's tree; so is the key
    registry's stream the evidence carries, and each signed answer is its member's by the key in
    force when it was recorded. The line saying what holds, or AuditFailed naming the first
    event that does not."""
    checkpoint = open_checkpoint(bound.checkpoint, verifier)
    proofs = {p.position: p for p in bound.proofs}
    if not documents:
        raise AuditFailed("the export holds no events")
    proved = _Proved(checkpoint, proofs, verifier.name)
    decision = proved.stream(documents, bound.decision_id)
    registry = registry_of(proved.stream(bound.key_registry, KEYS_STREAM))
    answers = [
        checked_answer(event, registry, checkpoint.origin)
        for event in decision
        if event.type in SIGNED_BY_EVENT and event.payload.get("signature") is not None
    ]
    bad = next((a for a in answers if a.status is Signed.BAD), None)
    if bad is not None:
        raise AuditFailed(f"position {bad.position}: {bad.member}'s signature: {bad.finding}")
    return (
        f"{len(documents)} events of {bound.decision_id} hash as exported and are in "
        f"{checkpoint.origin}'s tree of {checkpoint.size}, signed by {verifier.name}; "
        f"{len(answers)} signed answer(s) verified against {len(bound.key_registry)} key "
        "registry change(s)"
    )


class _Proved:
    """Exported streams checked against one signed checkpoint's tree."""

    def __init__(self, checkpoint: Checkpoint, proofs: dict[int, EventProof], key: str) -> None:
        self.checkpoint, self.proofs, self.key = checkpoint, proofs, key

    def stream(self, documents: Sequence[dict[str, Any]], stream: str) -> list[StoredEvent]:
        """The events of `stream`, once each hashes to its hash, follows the one before it in
        the stream from its first and is proved in the tree; AuditFailed naming the first that
        does not."""
        previous, events = GENESIS_HASH, []
        for version, document in enumerate(documents, 1):
            missing = [f for f in CSV_COLUMNS if f not in document]
            if missing:
                raise AuditFailed(f"exported event {version} lacks {', '.join(missing)}")
            position = document["position"]
            try:
                entry = entry_of(document)
                hashed = chain_hash(str(document["prev_hash"]), entry)
            except (ValueError, TypeError, orjson.JSONEncodeError):
                raise AuditFailed(f"position {position}: its fields are not an event's") from None
            if hashed != document["hash"]:
                raise AuditFailed(f"position {position}: its fields do not hash to its hash")
            if document["decision_id"] != stream:
                raise AuditFailed(f"position {position} is of {document['decision_id']}")
            if document["stream_version"] != version or document["stream_prev_hash"] != previous:
                raise AuditFailed(
                    f"position {position} is not event {version} of {stream}, "
                    "linked to the one before: the export is not the stream's whole"
                )
            self._in_tree(position, entry)
            try:
                row = BodyRow(position, document["prev_hash"], document["hash"], entry)
                events.append(stored_event(row, upcasters))
            except InvalidHistory as error:
                raise AuditFailed(str(error)) from None
            previous = document["hash"]
        return events

    def _in_tree(self, position: int, entry: bytes) -> None:
        proof = self.proofs.get(position)
        if proof is None or proof.index != position - 1:
            raise AuditFailed(f"the evidence holds no inclusion proof of position {position}")
        if not merkle.verify_inclusion(
            merkle.leaf_hash(entry),
            proof.index,
            self.checkpoint.size,
            unb64(proof.proof, "proof"),
            self.checkpoint.root,
        ):
            raise AuditFailed(
                f"position {position} is not proved to be in the tree of "
                f"{self.checkpoint.size} signed by {self.key}"
            )


_STYLE: Final = """
body{font-family:Georgia,serif;max-width:60rem;margin:2rem auto;color:#111;line-height:1.4}
h1{font-size:1.6rem}h2{font-size:1.2rem;border-bottom:1px solid #999;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #bbb;
padding:.2rem .4rem;text-align:left;vertical-align:top;font-size:.9rem}
.concurred{background:#e6f4e6}.objected{background:#f8e0e0}.silent{color:#777}
code.hash,pre{white-space:pre-wrap;word-break:break-all;font-size:.75rem;background:#f4f4f4;padding:.5rem}
@media print{body{margin:0}pre{background:none}}
"""


def _when(instant: datetime | None) -> str:
    return escape(instant.isoformat(timespec="seconds")) if instant else ""


def _said(text: str) -> str:
    """Someone's words on the page: escaped, with invisible formatting characters written out
    (\\uNNNN), so that they read as they are stored."""
    return escape(visible(text))


def answer_events(events: Sequence[StoredEvent]) -> dict[tuple[int, str, str], int]:
    """Where each answer shown stands in the log: (round, member, "answer" or "concern") to the
    position of the event that last recorded it."""
    kinds = {
        "ConcurrenceRecorded": "answer",
        "SilenceBroken": "answer",
        "ObjectionWithdrawn": "answer",
        "ConcernRegistered": "concern",
    }
    found: dict[tuple[int, str, str], int] = {}
    for event in events:
        kind = kinds.get(event.type)
        if kind is not None:
            found[(int(event.payload["round"]), str(event.payload["member"]), kind)] = (
                event.position
            )
    return found


def _linked(text: str, position: int | None) -> str:
    if position is None:
        return text
    return f'{text} <a href="#event-{position}">(#{position})</a>'


def _round_text(round_: ConsensusRound, text: str | None) -> tuple[str, str]:
    """What a round was opened on: a line naming the text (a revision, linked, or a resolution)
    and, for a resolution, its text to follow the answers."""
    if round_.issue is None:
        named = (
            f'<a href="#revision-{round_.revision}">revision {round_.revision}</a>, '
            if round_.revision is not None
            else ""
        )
        return f"Text {named}{escape(round_.text_hash)}", ""
    if text is None:
        return f"Resolution {escape(round_.text_hash)}", ""
    return (
        f"Resolution {escape(round_.text_hash)}, below",
        f'<p>Resolution proposed:</p><pre class="text">{_said(text)}</pre>',
    )


def _round_table(
    round_: ConsensusRound,
    recorded: dict[tuple[int, str, str], int],
    text: str | None,
    record: Transcript,
) -> str:
    objections = dict(round_.objections)
    concerns = {c.member: c.statement for c in round_.concerns}
    rows = []

    def marked(answer: str, member: str, *types: str) -> str:
        given = record.answer(round_.number, member, *types)
        mark = given.mark() if given else ""
        return f"{answer} <em>({escape(mark)})</em>" if mark else answer

    for member in round_.members:
        if member in objections:
            answer, css = f"objected: {_said(objections[member])}", "objected"
            answer = marked(answer, member, "SilenceBroken")
        elif member in round_.concurred:
            answer, css = marked("concurred", member, "ConcurrenceRecorded"), "concurred"
        else:
            answer, css = "silent", "silent"
        answer = _linked(answer, recorded.get((round_.number, member, "answer")))
        concern = _said(concerns.get(member, ""))
        if concern:
            concern = marked(concern, member, "ConcernRegistered")
            concern = _linked(concern, recorded.get((round_.number, member, "concern")))
        rows.append(
            f'<tr class="{css}"><td>{escape(member)}</td><td>{answer}</td><td>{concern}</td></tr>'
        )
    outcome = round_.outcome.value if round_.outcome else "open"
    opened_on, resolution = _round_text(round_, text)
    return (
        f'<h3 id="round-{round_.number}">Round {round_.number} ({escape(round_.subject)}): '
        f"{escape(outcome)}</h3><p>{opened_on}; opened "
        f"{_when(round_.opened_at)}, deadline {_when(round_.deadline)}"
        f"{', reminders sent' if round_.reminded else ''}; roster version "
        f"{round_.roster_version}.</p><table><tr><th>member</th><th>answer</th>"
        f"<th>concern</th></tr>{''.join(rows)}</table>{resolution}"
    )


def _issue_item(state: DecisionState, number: int) -> str:
    """An implementation issue: who raised it, what it says, and the round that took up the
    resolution last proposed for it (whose text the round shows)."""
    issue = state.issue(number)
    settled = ("resolved " + _when(issue.resolved_at)) if issue.resolved_at else "open"
    described = f"<pre>{_said(issue.description)}</pre>" if issue.description else ""
    proposed = next((r for r in reversed(state.rounds) if r.issue == number), None)
    resolution = (
        f'<p>Resolution proposed in <a href="#round-{proposed.number}">round '
        f"{proposed.number}</a>, {escape(proposed.text_hash)}</p>"
        if proposed is not None
        else ""
    )
    return (
        f"<li>{issue.number}. {escape(issue.title)}, raised by {escape(issue.raised_by)} "
        f"{_when(issue.raised_at)}; {settled}{described}{resolution}</li>"
    )


def html_page(
    state: DecisionState,
    events: Sequence[StoredEvent],
    refusals: Sequence[StoredRefusal],
    bound: Evidence | None,
) -> str:
    """The decision's timeline as one printable page that needs nothing but itself: each answer
    shown links to the event that recorded it, and the page embeds every event as exported
    (JSON lines) with the evidence bundle that proves each in a signed checkpoint."""
    recorded = answer_events(events)
    record = transcript(domain_event(e) for e in events)
    rounds = "".join(
        _round_table(r, recorded, record.text_of(state, r), record) for r in state.rounds
    )
    revisions = "".join(
        f'<li id="revision-{r.number}">revision {r.number}, {_when(r.at)} by {escape(r.by)}, '
        f"{escape(r.text_hash)}<pre>{_said(r.text)}</pre></li>"
        for r in state.revisions
    )
    items = ""
    if state.plan is not None:
        reported: dict[str, list[str]] = {}
        for event in events:
            if event.type == "ProgressReported" and event.payload.get("item_id"):
                said = f"{event.actor}: {event.payload.get('summary', '')}"
                reported.setdefault(str(event.payload["item_id"]), []).append(_said(said))
        done = set(state.plan.completed_items)
        items = "".join(
            f"<tr><td>{escape(item.item_id)}</td><td>{_said(item.description)}</td>"
            f"<td>{escape(item.assignee.label())}</td>"
            f"<td>{'done' if item.item_id in done else 'outstanding'}</td>"
            f"<td>{'<br>'.join(reported.get(item.item_id, []))}</td></tr>"
            for item in state.plan.action_items
        )
        items = (
            f"<h2>Implementation</h2><p>Monitored by {escape(state.plan.monitoring_body)}; "
            f"report back by {_when(state.plan.report_back_deadline)}.</p><table><tr>"
            "<th>item</th><th>description</th><th>assigned to</th><th>state</th>"
            f"<th>progress reported</th></tr>{items}</table>"
        )
    issues = "".join(_issue_item(state, issue.number) for issue in state.issues)
    refused = "".join(
        f"<tr><td>{_when(r.recorded_at)}</td><td>{escape(r.principal)}</td>"
        f"<td>{escape(r.kind)}</td><td>{escape(r.code)}</td><td>{escape(r.message)}</td></tr>"
        for r in refusals
    )
    timeline = "".join(
        f'<tr id="event-{e.position}"><td>{e.position}</td><td>{e.stream_version}</td>'
        f"<td>{_when(e.occurred_at)}</td><td>{escape(e.type)}</td>"
        f"<td>{escape(e.actor)}</td><td>{escape(e.recorded_by)}</td>"
        f'<td><code class="hash">{escape(e.hash)}</code></td></tr>'
        for e in events
    )
    evidence_section = (
        "<p>The log's key signed the checkpoint below; the evidence bundle holds each event's "
        "inclusion proof in its tree, and the events are embedded exactly as their hashes cover "
        "them (one canonical JSON document per line). Save the two blocks as files and check "
        "them with the public key alone: <code>concord audit check evidence.json --events "
        "events.jsonl --key KEY</code>, or with any RFC 8785 and RFC 9162 implementation "
        "(docs/auditing.md).</p>"
        f'<h3>Verifier key</h3><pre id="key">{escape(bound.key)}</pre>'
        f'<h3>Checkpoint</h3><pre id="checkpoint">{escape(bound.checkpoint)}</pre>'
        f'<h3>Events</h3><pre id="events">{escape(jsonl(events))}</pre>'
        f'<h3>Evidence bundle</h3><pre id="evidence">'
        f"{escape(bound.model_dump_json(indent=1))}</pre>"
        if bound is not None
        else "<p>This installation has no log signing key: no checkpoint is embedded.</p>"
    )
    superseded = (
        f"<p>Superseded by {escape(state.superseded_by)}.</p>" if state.superseded_by else ""
    ) + "".join(f"<p>Supersedes {escape(d)}.</p>" for d in state.supersedes)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(state.decision_id)}: {escape(state.title)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>{escape(state.title)}</h1><p><strong>{escape(state.decision_id)}</strong>, "
        f"{escape(state.status.value)}; proposed by {escape(state.proposer)}; area "
        f"{escape(state.area)}; {len(events)} events.</p>{superseded}"
        f"<h2>Text</h2><ol>{revisions}</ol>"
        f"<h2>Rounds</h2>{rounds or '<p>none</p>'}"
        f"{items}<h2>Implementation issues</h2><ul>{issues or '<li>none</li>'}</ul>"
        f"<h2>Refused commands</h2><table><tr><th>when</th><th>principal</th><th>command</th>"
        f"<th>rule</th><th>message</th></tr>{refused}</table>"
        f"<h2>Timeline</h2><table><tr><th>position</th><th>v</th><th>took effect</th><th>event</th>"
        f"<th>actor</th><th>recorded by</th><th>hash</th></tr>{timeline}</table>"
        f"<h2>Evidence</h2>{evidence_section}</body></html>\n"
    )
