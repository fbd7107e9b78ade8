"""The council in force: the one the log records, or the NRC that ships with Concord; and the
import of a council file as events of the council's own stream."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.council import COUNCIL_STREAM, Council
from domain.council_events import CouncilImport, folded_council
from domain.errors import Conflict, Refusal, Rule
from domain.nrc import NRC
from domain.roster import CHAIR, RosterBook
from store.decision_events import council_event, new_council_event
from store.eventstore import EventStore
from store.records import StoredEvent


@dataclass(frozen=True)
class Recorded:
    """The council the log records, and its stream's version."""

    council: Council
    version: int


@dataclass(frozen=True)
class Imported:
    """What an import stored: nothing when the file changed nothing."""

    council: Council
    stored: list[StoredEvent]


def file_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class Councils:
    """The installation's council, read from its event store."""

    def __init__(self, store: EventStore, default: Council = NRC) -> None:
        self._store = store
        self._default = default
        self._cached: Recorded | None = None

    async def recorded(self) -> Recorded | None:
        """The council the log records (None before the first import)."""
        version = await self._store.stream_version(COUNCIL_STREAM)
        if version == 0:
            return None
        if self._cached is not None and self._cached.version == version:
            return self._cached
        stored = await self._store.stream(COUNCIL_STREAM)
        council = folded_council([council_event(e) for e in stored])
        if council is None:
            return None
        self._cached = Recorded(council=council, version=len(stored))
        return self._cached

    async def in_force(self) -> Council:
        """The council decisions are taken in: the recorded one, else the shipped NRC."""
        recorded = await self.recorded()
        return recorded.council if recorded else self._default

    async def roster_book(self) -> RosterBook:
        return (await self.in_force()).roster_book()

    async def import_council(
        self, council: Council, source: str, digest: str, recorded_by: str
    ) -> Imported:
        """Record every change `council` makes to the recorded council, by `recorded_by`, as
        one batch of its stream; nothing when it changes nothing."""
        recorded = await self.recorded()
        version = recorded.version if recorded else 0
        changes = CouncilImport(
            recorded.council if recorded else None,
            version,
            datetime.now(UTC),
            CHAIR,
            recorded_by,
        ).changes(council, source, digest)
        if not changes:
            return Imported(council=council, stored=[])
        try:
            stored = await self._store.append(
                COUNCIL_STREAM, version, [new_council_event(e) for e in changes]
            )
        except Conflict:
            raise Refusal(
                Rule.COUNCIL_CHANGE, "the council changed while this file was imported: try again"
            ) from None
        self._cached = None
        return Imported(council=council, stored=stored)
