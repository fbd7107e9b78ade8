"""Evidence exports of one decision: its events as JSON lines or CSV, and a self-contained HTML
timeline (no network, no script, no external style) with the checkpoint and the inclusion
proof of its last event embedded, to be checked with the log's public key."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any, Final

from domain.state import ConsensusRound, DecisionState
from store.records import StoredEvent
from store.side_logs import StoredRefusal

FORMATS: Final = ("jsonl", "csv", "html")
CSV_COLUMNS: Final = (
    "position",
    "stream_version",
    "occurred_at",
    "recorded_at",
    "type",
    "actor",
    "recorded_by",
    "event_id",
    "prev_hash",
    "hash",
    "payload",
)


def event_document(event: StoredEvent) -> dict[str, Any]:
    return {
        "position": event.position,
        "stream_version": event.stream_version,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "type": event.type,
        "actor": event.actor,
        "recorded_by": event.recorded_by,
        "event_id": event.event_id,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
        "payload": event.payload,
    }


def jsonl(events: Sequence[StoredEvent]) -> str:
    return "".join(json.dumps(event_document(e), sort_keys=True) + "\n" for e in events)


def csv_text(events: Sequence[StoredEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        document = event_document(event)
        document["payload"] = json.dumps(document["payload"], sort_keys=True)
        writer.writerow([document[column] for column in CSV_COLUMNS])
    return out.getvalue()


_STYLE: Final = """
body{font-family:Georgia,serif;max-width:60rem;margin:2rem auto;color:#111;line-height:1.4}
h1{font-size:1.6rem}h2{font-size:1.2rem;border-bottom:1px solid #999;margin-top:2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #bbb;
padding:.2rem .4rem;text-align:left;vertical-align:top;font-size:.9rem}
.concurred{background:#e6f4e6}.objected{background:#f8e0e0}.silent{color:#777}
pre{white-space:pre-wrap;word-break:break-all;font-size:.75rem;background:#f4f4f4;padding:.5rem}
@media print{body{margin:0}pre{background:none}}
"""


def _when(instant: datetime | None) -> str:
    return escape(instant.isoformat(timespec="seconds")) if instant else ""


def _round_table(round_: ConsensusRound) -> str:
    objections = dict(round_.objections)
    concerns = {c.member: c.statement for c in round_.concerns}
    rows = []
    for member in round_.members:
        if member in objections:
            answer, css = f"objected: {escape(objections[member])}", "objected"
        elif member in round_.concurred:
            answer, css = "concurred", "concurred"
        else:
            answer, css = "silent", "silent"
        concern = escape(concerns.get(member, ""))
        rows.append(
            f'<tr class="{css}"><td>{escape(member)}</td><td>{answer}</td><td>{concern}</td></tr>'
        )
    outcome = round_.outcome.value if round_.outcome else "open"
    return (
        f'<h3 id="round-{round_.number}">Round {round_.number} ({escape(round_.subject)}): '
        f"{escape(outcome)}</h3><p>Text {escape(round_.text_hash)}; opened "
        f"{_when(round_.opened_at)}, deadline {_when(round_.deadline)}"
        f"{', reminders sent' if round_.reminded else ''}; roster version "
        f"{round_.roster_version}.</p><table><tr><th>member</th><th>answer</th>"
        f"<th>concern</th></tr>{''.join(rows)}</table>"
    )


def html_page(
    state: DecisionState,
    events: Sequence[StoredEvent],
    refusals: Sequence[StoredRefusal],
    checkpoint: str | None,
    proof: str | None,
    verifier_key: str | None,
) -> str:
    """The decision's timeline as one printable page that needs nothing but itself."""
    revisions = "".join(
        f"<li>revision {r.number}, {_when(r.at)} by {escape(r.by)}, {escape(r.text_hash)}"
        f"<pre>{escape(r.text)}</pre></li>"
        for r in state.revisions
    )
    items = ""
    if state.plan is not None:
        reported: dict[str, list[str]] = {}
        for event in events:
            if event.type == "ProgressReported" and event.payload.get("item_id"):
                said = f"{event.actor}: {event.payload.get('summary', '')}"
                reported.setdefault(str(event.payload["item_id"]), []).append(escape(said))
        done = set(state.plan.completed_items)
        items = "".join(
            f"<tr><td>{escape(item.item_id)}</td><td>{escape(item.description)}</td>"
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
    issues = "".join(
        f"<li>{issue.number}. {escape(issue.title)}, raised by {escape(issue.raised_by)} "
        f"{_when(issue.raised_at)}; "
        f"{('resolved ' + _when(issue.resolved_at)) if issue.resolved_at else 'open'}</li>"
        for issue in state.issues
    )
    refused = "".join(
        f"<tr><td>{_when(r.recorded_at)}</td><td>{escape(r.principal)}</td>"
        f"<td>{escape(r.kind)}</td><td>{escape(r.code)}</td><td>{escape(r.message)}</td></tr>"
        for r in refusals
    )
    timeline = "".join(
        f"<tr><td>{e.stream_version}</td><td>{_when(e.occurred_at)}</td><td>{escape(e.type)}</td>"
        f"<td>{escape(e.actor)}</td><td>{escape(e.recorded_by)}</td>"
        f"<td><code>{escape(e.hash[:16])}…</code></td></tr>"
        for e in events
    )
    evidence = (
        "<p>The checkpoint below is signed with the log's key; the proof puts the decision's "
        "last event in its tree. Check them, with the public key alone, by saving the proof as "
        "a file: <code>concord audit check proof.json --key KEY</code>, or with any "
        "RFC 9162 / C2SP verifier.</p>"
        f"<h3>Verifier key</h3><pre>{escape(verifier_key or '')}</pre>"
        f'<h3>Checkpoint</h3><pre id="checkpoint">{escape(checkpoint)}</pre>'
        f'<h3>Inclusion proof</h3><pre id="proof">{escape(proof or "")}</pre>'
        if checkpoint
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
        f"{escape(state.area.value)}; {len(events)} events.</p>{superseded}"
        f"<h2>Text</h2><ol>{revisions}</ol>"
        f"<h2>Rounds</h2>{''.join(_round_table(r) for r in state.rounds) or '<p>none</p>'}"
        f"{items}<h2>Implementation issues</h2><ul>{issues or '<li>none</li>'}</ul>"
        f"<h2>Refused commands</h2><table><tr><th>when</th><th>principal</th><th>command</th>"
        f"<th>rule</th><th>message</th></tr>{refused}</table>"
        f"<h2>Timeline</h2><table><tr><th>v</th><th>took effect</th><th>event</th>"
        f"<th>actor</th><th>recorded by</th><th>hash</th></tr>{timeline}</table>"
        f"<h2>Evidence</h2>{evidence}</body></html>\n"
    )
