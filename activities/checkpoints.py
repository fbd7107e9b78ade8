"""The activity that publishes the log's checkpoints: the tree caught up to the log's head,
signed with the installation's key and kept in the store, once per tree size."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog
from temporalio import activity

from domain.errors import InvalidHistory, InvalidInput
from store.eventstore import EventStore
from workflows.failures import to_failure
from workflows.messages import PUBLISH_CHECKPOINT, CheckpointInput, CheckpointResult

log = structlog.get_logger(__name__)


class TreeSigner(Protocol):
    """The log's Merkle tree and the checkpoint's signature: the audit layer's, which the
    composition root hands in (activities and audits do not import each other)."""

    async def head(self, store: EventStore, key: str) -> tuple[int, bytes]:
        """The size and root hash of the log's tree at its head, established from the entries
        appended since the latest checkpoint kept (whose signature by `key` is checked), and
        consistent with it; InvalidHistory, naming what differs, when the log or its stored
        tree was changed: then nothing may be signed."""
        ...

    def sign(self, key: str, origin: str, size: int, root: bytes) -> str:
        """The signed note of the checkpoint (origin, size, root), signed with the signer key
        `key` (as the key file holds it); InvalidInput when the key or the origin is not one."""
        ...

    async def cosign(self, store: EventStore, size: int, signed: str) -> Witnessing | None:
        """Submit the kept checkpoint of `size` to the witnesses of the installation's policy
        that have not cosigned it, and keep their cosignatures; None without a policy."""
        ...


@dataclass(frozen=True)
class Witnessing:
    """What the witnesses made of a kept checkpoint."""

    cosigned: int
    """How many of the policy's witnesses have cosigned it, now and before."""
    quorum: int
    refusals: dict[str, str]
    """Witnesses that did not cosign it (unreachable, or refusing), by name, and why."""
    forks: list[str]
    """Witnesses holding a view it does not extend: only a rewritten log or a split view
    explains one."""


class CheckpointActivities:
    """Publishes checkpoints into the store, signed with the key in `key_file`; without a key
    file it publishes nothing, and says so, each time it runs."""

    def __init__(
        self, store: EventStore, key_file: Path | None, origin: str, tree: TreeSigner
    ) -> None:
        self._store = store
        self._key_file = key_file
        self._origin = origin
        self._tree = tree

    @activity.defn(name=PUBLISH_CHECKPOINT)
    async def publish_checkpoint(self, input: CheckpointInput) -> CheckpointResult:
        """Sign and keep a checkpoint of the tree at the log's head, unless the tree has not
        grown since the latest kept one. A log that lost or changed kept events fails the run,
        with no retry: that is for the operators, not for another attempt."""
        info = activity.info()
        bound = log.bind(workflow_id=info.workflow_id, run_id=info.workflow_run_id)
        if self._key_file is None or not self._key_file.exists():
            bound.warning(
                "no checkpoint published: no signing key (make one with `concord audit keygen`)",
                key_file=str(self._key_file),
            )
            return CheckpointResult(outcome="no_key")
        try:
            key = self._read_key(self._key_file)
            size, root = await self._tree.head(self._store, key)
            latest = await self._store.checkpoints.latest()
            if latest is not None and size < latest.size:
                raise InvalidHistory(
                    f"the log's tree has {size} leaves, fewer than the {latest.size} of the "
                    f"checkpoint #{latest.position}: the log lost events"
                )
            # An empty log counts as kept at 0; a kept size with another root is refused below.
            unchanged = (
                size == 0 if latest is None else (latest.size, latest.root) == (size, root.hex())
            )
            if unchanged:
                if latest is not None:
                    await self._witness(bound, latest.size, latest.signed)
                return CheckpointResult(outcome="unchanged", size=size, root=root.hex())
            kept = await self._store.checkpoints.keep(
                size, root, self._tree.sign(key, self._origin, size, root)
            )
        except (InvalidHistory, InvalidInput) as error:
            # The alarm: the log does not extend what was signed, or cannot be signed.
            bound.error("no checkpoint published", error=error.line())
            activity.metric_meter().create_counter(
                "concord_checkpoint_alarms",
                "Checkpoints withheld: the log failed the signer's check.",
            ).add(1)
            raise to_failure(error) from error
        bound.info("checkpoint published", position=kept.position, size=size, root=kept.root)
        await self._witness(bound, kept.size, kept.signed)
        return CheckpointResult(outcome="kept", size=size, root=kept.root)

    async def _witness(self, bound: Any, size: int, signed: str) -> None:
        """The kept checkpoint submitted to the witnesses that have not cosigned it. A witness
        that holds another view raises the alarm; one that is away is tried again next run."""
        witnessing = await self._tree.cosign(self._store, size, signed)
        if witnessing is None:
            return
        for fork in witnessing.forks:
            bound.error("a witness holds a view this log does not extend", size=size, fork=fork)
            activity.metric_meter().create_counter(
                "concord_witness_alarms",
                "Witnesses that refused a checkpoint as a fork or a rollback.",
            ).add(1)
        for name, reason in witnessing.refusals.items():
            bound.warning("a witness did not cosign", size=size, witness=name, reason=reason)
        if witnessing.cosigned < witnessing.quorum:
            bound.warning(
                "checkpoint short of its witnesses' quorum",
                size=size,
                cosigned=witnessing.cosigned,
                quorum=witnessing.quorum,
            )
        else:
            bound.info("checkpoint cosigned", size=size, cosigned=witnessing.cosigned)

    @staticmethod
    def _read_key(path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidInput("CONCORD_LOG_KEY_FILE", f"cannot read {path}: {error}") from None
