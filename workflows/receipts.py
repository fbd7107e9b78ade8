"""A decision's commands from the caller's side, by idempotency key: what the validator decided
for the handler that follows it, the versions a command's events await in the log and the
digest of what it asked, its receipt once they are stored, or its refusal when a batch stored by
a lost attempt decided it again. Workflow state: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.commands import CommandBase
    from domain.events import Event
    from domain.state import DecisionState
    from workflows.messages import RECEIPTS_KEPT, Receipt, StoredRef


class Validated(NamedTuple):
    """What the validator decided for an update's command, on which state version, at which
    instant: the handler that follows at once takes it instead of deciding again."""

    command: CommandBase
    version: int
    at: datetime
    events: list[Event]


@dataclass(frozen=True, slots=True)
class Accepted:
    """A command whose events wait to be stored: enough to decide it again on another state.
    Defined here, in a module the sandbox shares between runs, so that a run's start does not
    build the class again."""

    key: str | None
    """None for the clock's commands."""
    command: CommandBase
    at: datetime
    first_version: int
    last_version: int
    state: DecisionState
    """The decision's state after its events."""


class Receipts:
    """Each command given to the decision, by its key, from accepted to answered."""

    def __init__(self, decision_id: str, kept: Iterable[Receipt] = ()) -> None:
        self._decision_id = decision_id
        self._receipts: dict[str, Receipt] = {r.idempotency_key: r for r in kept}
        self._awaiting: dict[str, tuple[int, int]] = {}
        """The first and last stream version of each accepted command's events, until stored."""
        self._digests: dict[str, str] = {}
        """The digest of each awaiting command, for its receipt and the log's command ranges."""
        self._refused: dict[str, ApplicationError] = {}
        self._validated: dict[str, Validated] = {}
        self._refs: dict[int, tuple[str, str]] = {}
        """The id and hash of each stored event whose command's receipt is not given yet."""

    def known(self, key: str) -> bool:
        """The key's command was accepted (awaiting its events' storing) or answered."""
        return key in self._receipts or key in self._awaiting

    def answered(self, key: str) -> bool:
        """The key's command has its receipt, or its refusal."""
        return key in self._receipts or key in self._refused

    def outcome(self, key: str) -> Receipt:
        """The answered command's receipt; its refusal is raised (once)."""
        if key in self._refused:
            raise self._refused.pop(key)
        return self._receipts[key]

    def digest_given(self, key: str) -> str:
        """The digest of the command a known key was given for ("" when not kept)."""
        if key in self._receipts:
            return self._receipts[key].command_digest or self._digests.get(key, "")
        return self._digests.get(key, "")

    def digest(self, key: str) -> str:
        """The digest of an awaiting command ("" when none is kept)."""
        return self._digests.get(key, "")

    def validated(self, key: str, decided: Validated) -> None:
        self._validated[key] = decided

    def validated_events(
        self, key: str | None, command: CommandBase, version: int, at: datetime
    ) -> list[Event] | None:
        """The validator's events for this very command, if nothing changed since it decided."""
        decided = self._validated.pop(key, None) if key is not None else None
        if decided is None:
            return None
        if decided.command is not command or decided.version != version or decided.at != at:
            return None
        return decided.events

    def awaiting(self, key: str, first: int, last: int, digest: str) -> None:
        """The key's command was accepted: its events are versions first..last."""
        self._awaiting[key] = (first, last)
        self._digests[key] = digest

    def not_awaiting(self, key: str) -> None:
        """The key's command is to be decided again: it no longer awaits those versions."""
        self._awaiting.pop(key, None)

    def refused(self, key: str, refusal: ApplicationError) -> None:
        """The key's command, decided again, was refused."""
        self._digests.pop(key, None)
        self._refused[key] = refusal

    def stored(
        self, refs: Iterable[StoredRef], batch: Sequence[Event], stored_version: int
    ) -> None:
        """The log holds these events, up to `stored_version`: each command whose events are
        all stored gets its receipt."""
        for ref in refs:
            self._refs[ref.stream_version] = (ref.event_id, ref.hash)
        types = {e.stream_version: e.type for e in batch}
        for key, (first, last) in list(self._awaiting.items()):
            if last > stored_version:
                continue
            versions = range(first, last + 1)
            self._receipts[key] = Receipt(
                decision_id=self._decision_id,
                idempotency_key=key,
                event_ids=tuple(self._refs[v][0] for v in versions),
                event_types=tuple(types.get(v, "") for v in versions),
                stream_version=last,
                hashes=tuple(self._refs[v][1] for v in versions),
                command_digest=self._digests.pop(key, ""),
            )
            del self._awaiting[key]
            for v in versions:
                self._refs.pop(v, None)

    def kept(self) -> tuple[Receipt, ...]:
        """The receipts a decision's next run keeps, the latest ones."""
        return tuple(self._receipts.values())[-RECEIPTS_KEPT:]
