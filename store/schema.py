"""The event store's tables, as SQLAlchemy Core metadata (the migrations create the same)."""

from __future__ import annotations

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
)

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
    Column("state", String(40), nullable=False, index=True),
    Column("proposer", String(200), nullable=False),
    Column("open_round", Integer),
    Column("round_deadline", INSTANT),
    Column("open_issues", Integer, nullable=False),
    Column("last_position", Position, nullable=False),
    Column("last_event_type", String(100), nullable=False),
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
