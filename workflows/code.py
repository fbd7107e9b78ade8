"""The code a decision's run runs: which patches it keeps the old branch of, and the operator's
request to move it onto the current code. Workflow code.

A patch (`workflow.patched`) is how the workflow's code changes under runs in flight: a run
started before the patch replays without its marker and keeps the old branch to its end; a run
started since, and every run a decision continues as new into, takes the new branch only. So a
decision leaves an old branch when it continues as new: on its own after many events, or when
the operator asks (`concord renew`, the `renew` signal). `concord doctor` lists the decisions
still on an old branch; a patch whose old branch no decision runs can be deprecated
(`workflow.deprecate_patch`), and later removed (README, "Changing the workflow's code").

Each patch a new run meets costs its history a marker and an upsert of Temporal's
`TemporalChangeVersion` search attribute (the SDK adds one to every marker), each a write to the
server. So a release may fold the patches before it: a run that takes the release's own patch
takes the new branch of every folded patch without asking, one marker in all; a run without it
(started before the release) asks the release before it, and so on, then each patch it did not
fold.
"""

from __future__ import annotations

from temporalio import workflow


class Code:
    """The run's `workflow.patched` calls, with the old branches it took remembered, and whether
    the operator asked the decision to continue as new."""

    def __init__(self, *releases: tuple[str, frozenset[str]]) -> None:
        """`releases`, newest first: each release's patch and the patches folded into it."""
        self._old: set[str] = set()
        self.renewal_asked = False
        self._folded: frozenset[str] = frozenset()
        """The patches this run takes without asking: all those folded into the newest release
        it took, or none."""
        for release, folded in releases:
            if self._asked(release):
                self._folded = folded
                break

    def patched(self, patch_id: str) -> bool:
        """`workflow.patched(patch_id)`, remembering an old branch taken (the SDK answers the
        same for the whole run); True without asking for a patch folded into the run's release."""
        return patch_id in self._folded or self._asked(patch_id)

    def _asked(self, patch_id: str) -> bool:
        taken = workflow.patched(patch_id)
        if not taken:
            self._old.add(patch_id)
        return taken

    @property
    def old_branches(self) -> tuple[str, ...]:
        """The patches whose old branch this run takes, by id."""
        return tuple(sorted(self._old))
