"""One decision read from a SQLite store's file with the standard library's sqlite3 alone.

`concord status` and `concord text` read one decision: its events and the read model's copy of
its state. Opened through the store, that read costs SQLAlchemy's import, near half of the
command's start-up. On SQLite the CLI reads the file with sqlite3 instead: in one read
transaction (one snapshot of the log, as each of the store's reads is), behind the same schema
check in the same words (`store.revisions`), each row made the same StoredEvent
(`store.records.stored_event`). The SQL is the store's own queries written out; the tests hold
the two readers to the same answers over a decision's life, and to the same refusals
(tests/integration/store/test_file_reader.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from domain.errors import Unavailable
from store.records import BodyRow, StoredEvent, stored_event
from store.revisions import UPGRADE_COMMAND, check_revision
from store.upcasting import Upcasters, upcasters
from store.urls import SQLITE_URL

BUSY_TIMEOUT_S: Final = 30.0
"""How long a read waits for a lock, as the store's connections do (store.engine)."""

_STREAM: Final = (
    f"SELECT {', '.join(BodyRow._fields)} FROM events "
    "WHERE decision_id = ? AND stream_version >= ? ORDER BY stream_version"
)
_STORED_STATE: Final = "SELECT state_json FROM decision_states WHERE decision_id = ?"
_HAS_REVISION: Final = (
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
)
_REVISION: Final = "SELECT version_num FROM alembic_version"


class DecisionFile:
    """A SQLite store's file, open for reading decisions: `stream` and `stored_state`, the reads
    `store.states.state_now` takes (store.states.DecisionReads)."""

    def __init__(self, connection: sqlite3.Connection, where: str, upcasters: Upcasters) -> None:
        self._connection = connection
        self._where = where
        self._upcasters = upcasters

    @classmethod
    def open(cls, path: Path, *, upcasters: Upcasters = upcasters) -> DecisionFile:
        """The file at `path`, its read transaction begun; Unavailable when there is no store
        there, it cannot be read, or its schema is not the one this code needs."""
        where = f"{SQLITE_URL}{path}"
        if not path.exists():
            raise Unavailable(f"no event store at {path}: run `{UPGRADE_COMMAND}` to create it")
        try:
            # mode=rw: a file that vanished is not created again; nothing here writes.
            connection = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=rw",
                uri=True,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
            )
        except sqlite3.Error as error:
            raise Unavailable(f"the event store at {where} cannot be opened: {error}") from None
        reader = cls(connection, where, upcasters)
        try:
            current = reader._revision()
            check_revision(current, where)
        except BaseException:
            reader.close()
            raise
        return reader

    def close(self) -> None:
        self._connection.close()

    async def stream(self, decision_id: str, from_version: int = 1) -> list[StoredEvent]:
        """The decision's events from `from_version` on, in stream order (as EventStore.stream)."""
        rows = self._rows(_STREAM, (decision_id, from_version))
        return [stored_event(BodyRow._make(row), self._upcasters) for row in rows]

    async def stored_state(self, decision_id: str) -> str | None:
        """The read model's copy of the decision's state, as JSON; None when it has none."""
        rows = self._rows(_STORED_STATE, (decision_id,))
        return str(rows[0][0]) if rows else None

    def _revision(self) -> str | None:
        # The read transaction begins here: every read after it sees the same log.
        self._rows("BEGIN", ())
        if not self._rows(_HAS_REVISION, ()):
            return None
        found = self._rows(_REVISION, ())
        return str(found[0][0]) if found else None

    def _rows(self, sql: str, parameters: tuple[object, ...]) -> list[tuple[object, ...]]:
        try:
            return self._connection.execute(sql, parameters).fetchall()
        except sqlite3.Error as error:
            raise Unavailable(f"the event store at {self._where} cannot be read: {error}") from None
