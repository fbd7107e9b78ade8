"""The store's tables in SQLAlchemy Core (the migrations create the same), and its rows by name."""

from __future__ import annotations

from typing import Final, NamedTuple

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal,
)

from store.records import BodyRow

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite makes only "INTEGER PRIMARY KEY" the rowid; BIGINT elsewhere.
Position = BigInteger().with_variant(Integer(), "sqlite")

INSTANT = String(27)
"""`YYYY-MM-DDTHH:MM:SS.ffffffZ`: fixed width, so text order is time order on every backend."""

HASH = String(64)

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("event_id", String(36), nullable=False),
    # The event's stream: a decision's id, or (holding a dot) the council's, its key registry's
    # or a sitting's. Named as the hashed body names it: each column repeats a field of the body
    # under the body's name, and the body's name is fixed by every hash already signed.
    Column("decision_id", String(63), nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("occurred_at", INSTANT, nullable=False),
    Column("recorded_at", INSTANT, nullable=False),
    Column("stream_prev_hash", HASH, nullable=False),
    Column("prev_hash", HASH, nullable=False),
    Column("hash", HASH, nullable=False),
    Column("body", LargeBinary, nullable=False),
    # event_id is derived from (decision_id, stream_version) (store.records.event_id_for), so
    # this constraint also makes event ids unique; verification checks every id's derivation.
    UniqueConstraint("decision_id", "stream_version"),
    Index(None, "decision_id", "occurred_at"),
)
"""The log. Columns repeat what `body` holds so SQL can select by them; verify checks they agree."""

SITTING_CONVENED: Final = events.c.type == literal("SittingConvened", literal_execute=True)
"""The events that convene a sitting (store.queries.recorded_sittings). The type is written into
the SQL, not bound, so that each database sees the query's condition is the partial index's."""

PARTIAL_INDEXES: Final = frozenset({"ix_events_sittings_convened"})
"""Indexes the migrations alone declare: `ix_events_sittings_convened` (migration 0013), the few
events that convene sittings, found without reading the log (SITTING_CONVENED is its condition).
A partial index's condition is written per dialect, and naming a dialect here would import it
into every process, PostgreSQL's into a SQLite store's; the schema tests hold the index to the
query that uses it on both databases."""


class LogRow(NamedTuple):
    """One row of `events`, by name: its fields are the table's columns, in the table's order
    (checked when this module is imported), as written by appends and read by verification."""

    position: int
    event_id: str
    decision_id: str
    stream_version: int
    type: str
    schema_version: int
    actor: str
    recorded_by: str
    occurred_at: str
    recorded_at: str
    stream_prev_hash: str
    prev_hash: str
    hash: str
    body: bytes


LOG_COLUMNS: Final = LogRow._fields
"""The names of the columns of `events`, in order."""

if tuple(events.c.keys()) != LOG_COLUMNS:
    raise TypeError(f"LogRow has fields {LOG_COLUMNS}, but events has columns {events.c.keys()}")


BODY_COLUMNS: Final = tuple(events.c[name] for name in BodyRow._fields)

log_head = Table(
    "log_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("position", Position, nullable=False),
    Column("hash", HASH, nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
"""One row: the last position and hash. Appenders lock it, which serialises them gap-free."""

workflow_histories = Table(
    "workflow_histories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", String(63), nullable=False, index=True),
    Column("workflow_id", String(255), nullable=False),
    Column("run_id", String(255), nullable=False, unique=True),
    Column("history_json", Text, nullable=False),
    Column("archived_at", INSTANT, nullable=False),
    Column("event_count", Integer, nullable=False),
)

projection_positions = Table(
    "projection_positions",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("position", Position, nullable=False),
)
"""How far each read model has applied the log."""

projection_failures = Table(
    "projection_failures",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("decision_id", String(63), primary_key=True),
    Column("position", Position, nullable=False),
    Column("reason", Text, nullable=False),
    Column("recorded_at", INSTANT, nullable=False),
)
"""Decisions a read model has parked: the event it could not apply and why. It skips their
later events (their rows stay as of the event before) until the read model is rebuilt."""

leases = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("beats", Position, nullable=False),
    Column("beat_at", INSTANT, nullable=False),
)
"""Which process holds a role a deployment runs once (the projector), and its heartbeat
(store.leases)."""

decision_states = Table(
    "decision_states",
    metadata,
    Column("decision_id", String(63), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("state_json", Text, nullable=False),
)
"""Each decision's domain state (domain.state.DecisionState as JSON), folded event by event."""

decisions = Table(
    "decisions",
    metadata,
    Column("decision_id", String(63), primary_key=True),
    Column("title", Text, nullable=False),
    Column("area", String(100), nullable=False),
    Column("state", String(40), nullable=False),
    Column("proposer", String(200), nullable=False),
    Column("open_round", Integer),
    Column("round_deadline", INSTANT),
    Column("open_issues", Integer, nullable=False),
    Column("last_position", Position, nullable=False),
    Column("last_event_type", String(100), nullable=False),
    # The list is read most recently changed first, a page at a time, by state or area or not
    # at all (store.queries.decisions_query): each index gives a page in order without a sort.
    Index(None, "last_position"),
    Index(None, "state", "last_position"),
    Index(None, "area", "last_position"),
)
"""One row per decision: what operators watch, read from its domain state."""

pending_actions = Table(
    "pending_actions",
    metadata,
    Column("decision_id", String(63), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("member", String(200), primary_key=True),
    Index(None, "member"),
)
"""Who has still to answer which open round: concur or break silence."""

owed_actions = Table(
    "owed_actions",
    metadata,
    Column("decision_id", String(63), nullable=False),
    Column("member", String(200)),
    Column("kind", String(20), nullable=False),
    Column("place", Integer, nullable=False),
    Column("round", Integer),
    Column("item_id", String(32)),
    Column("title", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("deadline", String(40)),
    Index(None, "decision_id"),
    Index(None, "member"),
)
"""What members owe, as the domain's state says (store.queries.pending_for_member): an answer
in an open round they can give now (`round`), or an outstanding action item (`item_id`), one
member's or, `member` NULL, all members' jointly. `place` orders a decision's rows of a kind (the
round's number, the item's place in the plan); `deadline` is the round's, or the item's due date
(else the plan's report-back deadline), as the state holds it (ISO-8601, its offset kept)."""

refusals = Table(
    "refusals",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("recorded_at", INSTANT, nullable=False),
    Column("principal", String(200), nullable=False),
    Column("decision_id", String(63), nullable=False),
    Column("kind", String(100), nullable=False),
    Column("command", Text, nullable=False),
    Column("code", String(100), nullable=False),
    Column("message", Text, nullable=False),
    Column("channel", String(10), nullable=False),
    Column("prev_hash", HASH, nullable=False),
    Column("hash", HASH, nullable=False),
    Index(None, "decision_id", "position"),
)
"""Side log (store.side_logs): every command refused, by a rule or for the principal's role;
`command` is its canonical JSON. Hash-chained like the log, and verified with it."""

access_events = Table(
    "access_events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("recorded_at", INSTANT, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("token_id", String(100), nullable=False),
    Column("principal", String(200), nullable=False),
    Column("by", String(200), nullable=False),
    Column("expires_at", INSTANT),
    Column("prev_hash", HASH, nullable=False),
    Column("hash", HASH, nullable=False),
    Index(None, "token_id"),
)
"""Side log (store.side_logs): access tokens issued and revoked (by their public id)."""

side_log_heads = Table(
    "side_log_heads",
    metadata,
    Column("log", String(40), primary_key=True),
    Column("position", Position, nullable=False),
    Column("hash", HASH, nullable=False),
)
"""Each side log's last position and hash (no row: empty). Appenders lock their log's row."""

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_id", String(16), primary_key=True),
    Column("secret_hash", HASH, nullable=False),
    Column("role", String(20), nullable=False),
    Column("name", String(64), nullable=False),
    Column("issued_at", INSTANT, nullable=False),
    Column("issued_by", String(200), nullable=False),
    Column("expires_at", INSTANT),
    Column("revoked_at", INSTANT),
    Column("revoked_by", String(200)),
)
"""The API's access tokens (store.tokens): only each secret's SHA-256, never the secret."""

portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id_hash", HASH, primary_key=True),
    Column("token_id", String(16), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("opened_at", INSTANT, nullable=False),
    Column("last_seen_at", INSTANT, nullable=False),
    Column("expires_at", INSTANT, nullable=False),
)
"""The portal's sessions (store.sessions): each id's SHA-256, never the id the cookie holds."""

webhooks = Table(
    "webhooks",
    metadata,
    Column("webhook_id", String(16), primary_key=True),
    Column("principal", String(200), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("created_at", INSTANT, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("disabled_at", INSTANT),
    Index(None, "principal"),
)
"""Endpoints told of notable events (store.webhooks). `secret` must stay retrievable (each
delivery is signed with it), so it is sealed, not hashed: AES-256-GCM under a key kept outside
the database (store.webhook_secrets)."""

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", String(100), primary_key=True),
    Column("webhook_id", String(16), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("decision_id", String(63), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_status", Text, nullable=False),
    Column("delivered_at", INSTANT),
    Column("updated_at", INSTANT, nullable=False),
    Index(None, "webhook_id", "updated_at"),
)
"""One row per (webhook, event): the attempts so far and the last one's outcome (an HTTP
status, or why no answer came), upserted by each attempt."""

merkle_subtrees = Table(
    "merkle_subtrees",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", Position, primary_key=True, autoincrement=False),
    Column("hash", HASH, nullable=False),
)
"""The log's Merkle tree (audit.tree): the hash of each complete subtree of level 4 and up, level
L index k covering leaves [k * 2^L, (k + 1) * 2^L), leaf i being the event at position i + 1."""

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("size", Position, nullable=False, unique=True),
    Column("root", HASH, nullable=False),
    Column("signed", Text, nullable=False),
    Column("created_at", INSTANT, nullable=False),
)
"""The log's published checkpoints (store.checkpoints), append-only: one per tree size, its root
hash (hex) and the signed note as it was published."""

checkpoint_cosignatures = Table(
    "checkpoint_cosignatures",
    metadata,
    Column("size", Position, primary_key=True),
    Column("witness", String(300), primary_key=True),
    Column("line", Text, nullable=False),
    Column("cosigned_at", INSTANT, nullable=False),
)
"""Witnesses' cosignatures of the kept checkpoints (store.checkpoints), one per size and witness
key (`<name>+<key id hex>`): the note signature line as returned, and the witness's time."""

state_snapshots = Table(
    "state_snapshots",
    metadata,
    Column("decision_id", String(63), primary_key=True),
    Column("stream_version", Integer, primary_key=True, autoincrement=False),
    Column("occurred_at", INSTANT, nullable=False),
    Column("event_hash", HASH, nullable=False),
    Column("state_json", Text, nullable=False),
    Column("signature", Text, nullable=False),
)
"""A decision's state after its event at `stream_version` (audit.snapshots), bound to that
event's chain hash and signed with the log's key: a point-in-time view starts from the latest
one that still verifies, instead of folding every event."""

command_ranges = Table(
    "command_ranges",
    metadata,
    Column("decision_id", String(63), primary_key=True),
    Column("first_version", Integer, primary_key=True, autoincrement=False),
    Column("last_version", Integer, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("command_digest", HASH, nullable=False),
    Index(None, "idempotency_key"),
)
"""Which stream versions each accepted command's events hold, written with them in the same
transaction: a decision's workflow whose task failed after its batch was stored finds, on its
next attempt, which commands that batch held (`store.appending` adopts it); and a key stored on
one decision is found, to refuse it on another."""
