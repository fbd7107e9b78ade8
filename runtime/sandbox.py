"""The sandbox Concord's workflows run in: the SDK's own, restrictions and all, less the cost of
compiling a statement each time it steps into a run.

The SDK steps into a sandboxed run by compiling and executing a small statement: once to
activate it, and once for every payload an activation or its completion carries, to ask the run
which serialization context the payload belongs to. Those compilations were a sixth of a busy
worker's Python time (docs/benchmarks.md). Here each statement is compiled once, and the
context is asked of the run directly: that question runs only the SDK's code, which imports
nothing and reads the run's info, so it needs none of the import hooks a statement is run under.
Workflow code still runs only inside the sandbox.

The steps replace private code of the SDK's. They apply only to the SDK's code as it was read
when they were written (`REVIEWED`, each method's source by its digest): a release of the SDK
that changes any of it runs its own sandbox as it is, until the steps are read again
(`fast_sandbox_applies` tells which; a test says so).
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

from runtime.reviewed import reviewed

try:
    from temporalio.worker.workflow_sandbox._runner import _Instance
except ImportError:  # a release of the SDK without it: the SDK's sandbox as it is
    _Instance = None  # type: ignore[assignment,misc]

REVIEWED: Final = {
    "temporalio.worker.workflow_sandbox._runner:_Instance._run_code": (
        "78055698bee1c0d36ba7c7272566d5c21a3f7d939b3cfdf6906735d8a45215cf"
    ),
    "temporalio.worker.workflow_sandbox._runner:_Instance.get_serialization_context": (
        "b4331d145cc4475828121d0670c49a5d0ed4128ecffc97bb7692fded3a877c3a"
    ),
    "temporalio.worker.workflow_sandbox._runner:_Instance.get_external_store_context": (
        "66d3ceaa5a824e05c8f04ee4dfefeff24fa56f60287291ccc37007781445862b"
    ),
    "temporalio.worker.workflow_sandbox._in_sandbox:InSandbox.get_serialization_context": (
        "80a6c3c66d58539fb0f450b4fe12be1e8c5d0728938823cdf230edf449fd6a42"
    ),
    "temporalio.worker.workflow_sandbox._in_sandbox:InSandbox.get_external_store_context": (
        "d204b2f479964c1d9117710f8c4d8ab0d57d48fc2b898ddac29246b15867b552"
    ),
    "temporalio.worker._workflow_instance:_WorkflowInstanceImpl.get_serialization_context": (
        "af7aa71c605aa6b07132977d1cd36aca4284c32647b75ef63428c91c2a5b7e78"
    ),
    "temporalio.worker._workflow_instance:_WorkflowInstanceImpl.get_external_store_context": (
        "226b82ba54ae38547c6e1f4702448021995c82f0a75226579ffe2941d62aece0"
    ),
}
"""The SDK's methods the steps replace or lean on, `module:Class.method`, by the sha256 of
their source as read."""

_IN_SANDBOX: Final = "__temporal_in_sandbox"


@functools.cache
def fast_sandbox_applies() -> bool:
    """Whether the installed SDK's code is the code the steps were written against."""
    return _Instance is not None and reviewed(REVIEWED)


@functools.lru_cache(maxsize=64)
def _compiled(statement: str) -> CodeType:
    # The SDK's statements are a handful of fixed strings; the ones naming a workflow class are
    # compiled once per class.
    return compile(statement, "<string>", "exec")


if _Instance is not None:

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
