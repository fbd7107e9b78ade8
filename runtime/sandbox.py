"""The sandbox Concord's workflows run in: the SDK's own, restrictions and all, less the cost of
compiling a statement each time it steps into a run.

The SDK steps into a sandboxed run by compiling and executing a small statement: once to
activate it, and once for every payload an activation or its completion carries, to ask the run
which serialization context the payload belongs to. Those compilations were a sixth of a busy
worker's Python time (docs/benchmarks.md). Here each statement is compiled once, and the
context is asked of the run directly: that question runs only the SDK's code, which imports
nothing and reads the run's info, so it needs none of the import hooks a statement is run under.
Workflow code still runs only inside the sandbox.

The steps lean on the SDK's private `_Instance`. Where a release of the SDK no longer has what
they lean on, the worker runs the SDK's sandbox as it is (`fast_sandbox_applies` tells which).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterator
from types import CodeType
from typing import Any, Final

import temporalio.workflow
from temporalio.converter import SerializationContext, StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

try:
    from temporalio.worker.workflow_sandbox._runner import _Instance
except ImportError:  # a release of the SDK without it: the SDK's sandbox as it is
    _Instance = None  # type: ignore[assignment,misc]

_LEANS_ON: Final = ("_run_code", "get_serialization_context", "get_external_store_context")
_IN_SANDBOX: Final = "__temporal_in_sandbox"


def fast_sandbox_applies() -> bool:
    """Whether this release of the SDK has the steps the faster sandbox replaces."""
    return _Instance is not None and all(hasattr(_Instance, name) for name in _LEANS_ON)


@functools.lru_cache(maxsize=64)
def _compiled(statement: str) -> CodeType:
    # The SDK's statements are a handful of fixed strings; the ones naming a workflow class are
    # compiled once per class.
    return compile(statement, "<string>", "exec")


if fast_sandbox_applies():

    class _SteppedInstance(_Instance):
        """A sandboxed run whose statements are compiled once, asked its contexts directly."""

        def _run_code(self, code: str, **extra_globals: Any) -> None:
            scope = self.globals_and_locals
            scope.update(extra_globals)
            try:
                temporalio.workflow.unsafe._set_in_sandbox(True)
                self._current_thread_id = threading.get_ident()
                exec(_compiled(code), scope, scope)
            finally:
                temporalio.workflow.unsafe._set_in_sandbox(False)
                self._current_thread_id = None
                for name in extra_globals:
                    scope.pop(name, None)

        def get_serialization_context(self, command_info: Any) -> SerializationContext | None:
            with self._at_runtime() as run:
                context: SerializationContext | None = run.get_serialization_context(command_info)
            return context

        def get_external_store_context(self, command_info: Any) -> StorageDriverStoreContext:
            with self._at_runtime() as run:
                context: StorageDriverStoreContext = run.get_external_store_context(command_info)
            return context

        @contextlib.contextmanager
        def _at_runtime(self) -> Iterator[Any]:
            """The run inside the sandbox, asked as the SDK asks it: with its runtime
            restrictions in force."""
            restrictions = self.importer.restriction_context
            restrictions.is_runtime = True
            try:
                yield self.globals_and_locals[_IN_SANDBOX]
            finally:
                restrictions.is_runtime = False


class ConcordSandbox(SandboxedWorkflowRunner):
    """The SDK's sandboxed runner with the same restrictions, stepping into runs as above."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        if not fast_sandbox_applies():
            return super().create_instance(det)
        return _SteppedInstance(det, self.runner_class, self.restrictions)
