"""A client that remembers (as Go's sumdb client keeps its cache): the largest checkpoint of a log
it verified, kept in a directory of its own, and every checkpoint it is shown afterwards held to
it. A checkpoint of the same size must have the same root; one of another size must be proved
consistent with it, by a consistency proof in hand or by the hash tiles the log serves. A log
that shows different trees to different people is caught by each client on its own."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from audit import merkle
from audit.checkpoint import Checkpoint, open_checkpoint
from audit.note import Verifier
from domain.errors import AuditFailed, InvalidInput


class Remembered:
    """The largest checkpoint of the log of `verifier` that this client verified, under
    `directory` (mode 0700), one file per origin, replaced whole."""

    def __init__(self, directory: Path, verifier: Verifier) -> None:
        self._directory = directory
        self._verifier = verifier
        self._path = directory / (
            hashlib.sha256(verifier.name.encode()).hexdigest()[:16] + ".checkpoint"
        )

    def latest(self) -> Checkpoint | None:
        if not self._path.exists():
            return None
        try:
            return open_checkpoint(self._path.read_text(), self._verifier, self._verifier.name)
        except (InvalidInput, OSError, UnicodeDecodeError):
            raise InvalidInput(
                "state", f"{self._path} does not hold a checkpoint of {self._verifier.name}"
            ) from None

    async def hold(
        self,
        signed: str,
        checkpoint: Checkpoint,
        proved: tuple[Checkpoint, Checkpoint, list[bytes]] | None = None,
        log: str | None = None,
    ) -> str:
        """Hold `checkpoint` to the one remembered, and remember it if it is larger; what was
        shown, or AuditFailed for a split view. `proved` is a consistency proof in hand (old,
        new, hashes); `log` the log's URL, whose hash tiles prove what is not in hand."""
        last = self.latest()
        if last is None:
            self._keep(signed)
            return f"remembered as the first checkpoint of {checkpoint.origin} seen here"
        if last.size == checkpoint.size:
            if last.root != checkpoint.root:
                raise AuditFailed(
                    f"split view: {checkpoint.origin} signed another tree of {last.size} "
                    "than the one remembered here"
                )
            return f"the checkpoint of {last.size} remembered here"
        small, large = sorted((last, checkpoint), key=lambda c: c.size)
        hashes = await self._proof(small, large, proved, log)
        if not merkle.verify_consistency(small.size, large.size, small.root, large.root, hashes):
            raise AuditFailed(
                f"split view: {checkpoint.origin}'s tree of {large.size} does not extend its "
                f"tree of {small.size}, one of them remembered here"
            )
        if checkpoint.size > last.size:
            self._keep(signed)
            return f"extends the checkpoint of {last.size} remembered here (now {large.size})"
        return f"is extended by the checkpoint of {last.size} remembered here"

    async def _proof(
        self,
        small: Checkpoint,
        large: Checkpoint,
        proved: tuple[Checkpoint, Checkpoint, list[bytes]] | None,
        log: str | None,
    ) -> list[bytes]:
        if proved is not None:
            old, new, hashes = proved
            if (old.size, old.root, new.size, new.root) == (
                small.size,
                small.root,
                large.size,
                large.root,
            ):
                return hashes
        if log is None:
            raise InvalidInput(
                "log",
                f"the checkpoints of {small.size} and {large.size} (one of them remembered "
                "here) need a consistency proof: give the log's URL (--log) to prove it from "
                "its hash tiles",
            )
        from audit.served import ServedLog, ServedTree  # HTTP only when the log is asked

        async with ServedLog(log) as served:
            return await merkle.consistency_proof(
                ServedTree(served, large.size).subtree, small.size, large.size
            )

    def _keep(self, signed: str) -> None:
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(signed)
        os.replace(temporary, self._path)
