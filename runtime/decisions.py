"""How the adapters (CLI, API) talk to decision workflows: start, command, ask, list."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Final

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.commands import Command, MemberAnswer, SubmitProposal, SupersedeDecision
from domain.decider import decide
from domain.errors import (
    ConcordError,
    Fault,
    InvalidInput,
    NotFound,
    Refusal,
    Rule,
    Unavailable,
)
from domain.nrc import NRC_ROSTERS
from domain.roster import RosterBook
from domain.state import DecisionState
from domain.statements import answer_key
from workflows.decision import WORKFLOW_TASK_TIMEOUT, DecisionWorkflow
from workflows.failures import from_failure
from workflows.messages import (
    WORKFLOW_ID_PREFIX,
    CommandInput,
    DecisionInput,
    DecisionResult,
    DeliverInput,
    PendingInput,
    PendingResult,
    Receipt,
    StatusInput,
    StatusResult,
    SupersessionInput,
    SupersessionResult,
    supersession_id,
    update_id,
    workflow_id,
)
from workflows.supersession import SupersessionWorkflow

if TYPE_CHECKING:
    from runtime.settings import Settings

RosterSource = Callable[[], Awaitable[RosterBook]]
"""Where a client reads the roster versions of the council in force."""


@dataclass(frozen=True)
class DecisionRun:
    """One run of a decision's workflow, as Temporal lists it."""

    decision_id: str
    workflow_id: str
    run_id: str
    status: str
    task_queue: str = ""
    """The task queue its workflow tasks go to: whose workers run it."""


@dataclass
class OldCode:
    """The decisions in flight on the old branch of a patch, with those patches; and those whose
    run could not be asked (no worker answered for its task queue)."""

    runs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)


class Unacknowledged(Unavailable):
    """A command whose receipt did not come within the client's bound: it is not stored yet,
    and may still be once the store or a worker is back; given again with the same idempotency
    key, it gets its receipt and is never stored twice."""

    RESEND: ClassVar[str] = (
        "send it again with the same idempotency key to get its receipt without giving it twice"
    )

    def __init__(self, decision_id: str, waited: float, resend: str = RESEND) -> None:
        # Sub-second bounds keep two significant digits: "after 0 s" would say it never waited.
        seconds = f"{round(waited, 1):g} s" if waited >= 1 else f"{waited:.2g} s"
        super().__init__(
            f"decision {decision_id}: the command is not acknowledged after {seconds}: it is not "
            "stored yet (the event store or the worker does not answer) and may still be once "
            f"they are back; {resend}"
        )
        self.decision_id = decision_id
        self.waited = waited

    def resent_with(self, resend: str) -> Unacknowledged:
        """The same error saying how the adapter's user gives the command again."""
        return Unacknowledged(self.decision_id, self.waited, resend)


MAX_IN_FLIGHT: Final = 10
"""Temporal refuses an 11th in-flight update per workflow: keep at most 10 per decision."""
_RETRIES: Final = 12
QUERY_ATTEMPTS: Final = 3
"""How many times a query the server cancelled is asked (DecisionClient._query)."""


class InFlightLimit:
    """At most `limit` calls at once per decision; a decision with none in flight holds nothing,
    so a long-lived process keeps no entry for the thousands of decisions it once served."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @asynccontextmanager
    async def slot(self, decision_id: str) -> AsyncIterator[None]:
        semaphore, users = self._slots.get(decision_id, (asyncio.Semaphore(self._limit), 0))
        self._slots[decision_id] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[decision_id]
            if users == 1:
                del self._slots[decision_id]
            else:
                self._slots[decision_id] = (semaphore, users - 1)

    def __len__(self) -> int:
        return len(self._slots)


class DecisionClient:
    """Commands and questions for decision workflows, with Concord's errors on refusal."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        *,
        search_attributes: bool = True,
        max_events_per_run: int | None = None,
        rosters: RosterSource | None = None,
        command_timeout: float | None = None,
    ) -> None:
        self._rosters = rosters
        self._command_timeout = command_timeout
        """How long a command waits for its receipt (None: as long as it takes)."""
        self._client = client
        self._task_queue = task_queue
        self._search_attributes = search_attributes
        self._max_events_per_run = max_events_per_run
        self.in_flight = InFlightLimit(MAX_IN_FLIGHT)

    @classmethod
    def configured(
        cls, client: Client, settings: Settings, rosters: RosterSource
    ) -> DecisionClient:
        """The client every adapter gives commands through, as the settings configure it: on
        their task queue, each command waiting for its receipt as long as they allow."""
        return cls(
            client,
            settings.task_queue,
            rosters=rosters,
            command_timeout=settings.command_timeout_seconds,
        )

    async def give(self, command: Command, key: str | None = None) -> Receipt:
        """Give any command: a proposal starts its decision, any other goes to its decision."""
        if isinstance(command, SubmitProposal):
            return await self.propose(command, key)
        return await self.execute(command, key)

    @property
    def temporal(self) -> Client:
        """The Temporal client this one speaks through."""
        return self._client

    @property
    def task_queue(self) -> str:
        """The task queue of the workers that run decisions (and sittings)."""
        return self._task_queue

    def handle(self, decision_id: str) -> WorkflowHandle[DecisionWorkflow, DecisionResult]:
        return self._client.get_workflow_handle_for(DecisionWorkflow.run, workflow_id(decision_id))

    async def propose(self, command: SubmitProposal, key: str | None = None) -> Receipt:
        """Start a decision's workflow with its proposal, in one call (update-with-start); the
        receipt names the stored event. The same proposal retried with its key gets its receipt;
        any other proposal for an existing decision is refused (decision_exists)."""
        # Decided here first (a pure call) so that a refused proposal never starts a workflow:
        # a decision's id, once its workflow has started, is never given to another.
        rosters = await self._roster_book()
        decide(None, command, datetime.now(UTC), rosters or NRC_ROSTERS)
        key = key or str(uuid.uuid4())
        opening = self._input(
            command.decision_id, proposal=command, proposal_key=key, rosters=rosters
        )
        try:
            return await self._update_with_start(
                command, key, opening, WorkflowIDReusePolicy.REJECT_DUPLICATE
            )
        except WorkflowAlreadyStartedError:  # the decision's workflow has closed
            raise _exists(command.decision_id) from None
        except RPCError as error:
            if error.status is RPCStatusCode.ALREADY_EXISTS:  # closed, as a start says it
                raise _exists(command.decision_id) from None
            raise _unavailable(error) from None

    async def execute(self, command: Command, key: str | None = None) -> Receipt:
        """Give a command to its decision; the same key given twice yields the same receipt. A
        signed answer is given under the key its member signed (InvalidInput for another)."""
        key = _key_of(command, key)
        handle = self.handle(command.decision_id)
        async with (
            acknowledged(command.decision_id, self._command_timeout),
            self.in_flight.slot(command.decision_id),
        ):
            for attempt in range(_RETRIES):
                try:
                    return await handle.execute_update(
                        DecisionWorkflow.execute,
                        CommandInput(command=command, idempotency_key=key),
                        id=update_id(key, command),
                    )
                except WorkflowUpdateFailedError as failure:
                    raise _failed(command.decision_id, failure) from None
                except RPCError as error:
                    if error.status is RPCStatusCode.RESOURCE_EXHAUSTED and attempt < _RETRIES - 1:
                        await asyncio.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
                        continue
                    raise await self._explain(command.decision_id, error) from None
        raise Unavailable("Temporal kept refusing the update")  # pragma: no cover

    async def supersede(
        self, command: SupersedeDecision, key: str | None = None
    ) -> SupersessionResult:
        """Record on both streams that `command.superseded_by` supersedes the decision, or on
        neither (a refusal names the rule); either may be completed, its workflow closed. The
        same request retried with its key gets the same receipts."""
        key = key or str(uuid.uuid4())
        async with acknowledged(command.decision_id, self._command_timeout):
            return await self._supersession(command, key)

    async def _supersession(self, command: SupersedeDecision, key: str) -> SupersessionResult:
        try:
            handle = await self._client.start_workflow(
                SupersessionWorkflow.run,
                SupersessionInput(
                    command=command,
                    idempotency_key=key,
                    search_attributes=self._search_attributes,
                ),
                id=supersession_id(key, command),
                task_queue=self._task_queue,
                task_timeout=WORKFLOW_TASK_TIMEOUT,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                # A request refused earlier may be asked again; one carried out answers again.
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            )
        except WorkflowAlreadyStartedError:
            handle = self._client.get_workflow_handle_for(
                SupersessionWorkflow.run, supersession_id(key, command)
            )
        except RPCError as error:
            raise _unavailable(error) from None
        try:
            return await handle.result()
        except WorkflowFailureError as failure:
            raise from_failure(failure) or Fault(
                f"decision {command.decision_id}: the supersession failed ({failure.cause})"
            ) from None
        except RPCError as error:
            raise _unavailable(error) from None

    async def deliver(self, input: DeliverInput, state: DecisionState) -> Receipt:
        """Give a command to its decision's open run, or to a new run started from `state`
        (the decision's log) when its workflow has closed: the way a completed decision takes
        the one command it still takes (its supersession), with its stream's single writer."""
        command = input.command
        try:
            reopening = self._input(
                command.decision_id,
                state=state,
                search_attributes=input.search_attributes,
                rosters=await self._roster_book(),
                previous_run_id=await self._closed_run(command.decision_id),
            )
            return await self._update_with_start(
                command, input.idempotency_key, reopening, WorkflowIDReusePolicy.ALLOW_DUPLICATE
            )
        except RPCError as error:
            raise _unavailable(error) from None

    async def _closed_run(self, decision_id: str) -> str | None:
        """The id of the decision's last run if it has closed, for the run started after it to
        archive: the log's follower archives the run that stores a decision's last event, and
        from now on that is the new run."""
        last = await self.handle(decision_id).describe()
        return None if last.status is WorkflowExecutionStatus.RUNNING else last.run_id

    async def _roster_book(self) -> RosterBook | None:
        """The roster versions of the council in force, when this client was told where to
        read them (None: the workflow decides with the NRC's)."""
        return await self._rosters() if self._rosters else None

    def _input(self, decision_id: str, **fields: Any) -> DecisionInput:
        """A decision workflow's input with this client's settings (fields override them)."""
        settings: dict[str, Any] = {"search_attributes": self._search_attributes}
        if self._max_events_per_run is not None:
            settings["max_events_per_run"] = self._max_events_per_run
        return DecisionInput(decision_id=decision_id, **(settings | fields))

    async def _update_with_start(
        self, command: Command, key: str, opening: DecisionInput, reuse: WorkflowIDReusePolicy
    ) -> Receipt:
        """Give `command` to the decision's open run, or start one with `opening` (as `reuse`
        allows) and give it there, in one call; a refusal comes back as Concord's error."""
        start = WithStartWorkflowOperation(
            DecisionWorkflow.run,
            opening,
            id=workflow_id(command.decision_id),
            task_queue=self._task_queue,
            task_timeout=WORKFLOW_TASK_TIMEOUT,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=reuse,
        )
        async with (
            acknowledged(command.decision_id, self._command_timeout),
            self.in_flight.slot(command.decision_id),
            _settled(start),
        ):
            try:
                return await self._client.execute_update_with_start_workflow(
                    DecisionWorkflow.execute,
                    CommandInput(command=command, idempotency_key=key),
                    id=update_id(key, command),
                    start_workflow_operation=start,
                )
            except WorkflowUpdateFailedError as failure:
                raise _failed(command.decision_id, failure) from None

    async def outcome(self, decision_id: str, timeout: float) -> DecisionResult:
        """Wait, at most `timeout` seconds, for the decision's workflow to close and return how
        it ended (the run it closed in is archived by the log's follower, activities.archivist,
        at the projector's next pass)."""
        try:
            return await asyncio.wait_for(self.handle(decision_id).result(), timeout)
        except TimeoutError:
            raise Unavailable(
                f"decision {decision_id}: its workflow had not closed after {timeout:g} s"
            ) from None
        except RPCError as error:
            raise self._rpc_error(decision_id, error) from None

    async def live_history(self, decision_id: str) -> WorkflowHistory | None:
        """The history of the decision's run in flight, for a replay audit; None when it has
        none running."""
        handle = self.handle(decision_id)
        try:
            described = await handle.describe()
            if described.status is not WorkflowExecutionStatus.RUNNING:
                return None
            return await self._client.get_workflow_handle(
                handle.id, run_id=described.run_id
            ).fetch_history()
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                return None
            raise _unavailable(error) from None

    async def status(self, decision_id: str) -> StatusResult:
        result: StatusResult = await self._query(
            decision_id, DecisionWorkflow.status, StatusInput()
        )
        return result

    async def _query(self, decision_id: str, query: Any, argument: Any) -> Any:
        """A query of the decision's run. A query the server gave up on while it waited for
        the run's worker (`cancelled`: a busy worker, a workflow task in flight) is asked again,
        at most QUERY_ATTEMPTS times: a query changes nothing, so asking twice is safe."""
        attempt = 1
        while True:
            try:
                return await self.handle(decision_id).query(query, argument)
            except RPCError as error:
                if error.status is not RPCStatusCode.CANCELLED or attempt >= QUERY_ATTEMPTS:
                    raise self._rpc_error(decision_id, error) from None
            await asyncio.sleep(0.2 * attempt)
            attempt += 1

    async def renew(self, decision_id: str, within: float = 30.0) -> StatusResult:
        """Ask the decision's run to continue as new once its work in hand is stored, so that
        its next run runs the current code only (workflows.code); the new run's status. NotFound
        when no run of the decision is in flight, Unavailable when none followed within
        `within` seconds (no worker running)."""
        handle = self.handle(decision_id)
        try:
            before = await handle.describe()
            if before.status is not WorkflowExecutionStatus.RUNNING:
                raise NotFound(f"no run of decision {decision_id} is in flight: it has ended")
            await self._client.get_workflow_handle(handle.id, run_id=before.run_id).signal(
                DecisionWorkflow.renew
            )
            deadline = asyncio.get_running_loop().time() + within
            while (now := await handle.describe()).run_id == before.run_id:
                if now.status is not WorkflowExecutionStatus.RUNNING:
                    raise NotFound(f"decision {decision_id} has ended: there is no run to renew")
                if asyncio.get_running_loop().time() > deadline:
                    raise Unavailable(
                        f"decision {decision_id} was asked to continue as new and has not yet "
                        f"(within {within:.0f} s): is a worker running?"
                    )
                await asyncio.sleep(0.2)
        except RPCError as error:
            raise self._rpc_error(decision_id, error) from None
        return await self.status(decision_id)

    async def old_branches(
        self, running: list[DecisionRun], each_within: timedelta = timedelta(seconds=5)
    ) -> OldCode:
        """Which decisions among `running` run the old branch of a patch, with those patches
        (workflows.code), and which could not be asked: no worker polls their task queue, or
        none answered within `each_within` (then the rest are not asked: one wait, not one per
        run). Unavailable when Temporal itself cannot be reached."""
        old = OldCode()
        asking = asyncio.Semaphore(10)

        async def ask(run: DecisionRun) -> bool:
            """False when the query timed out."""
            async with asking:
                handle = self._client.get_workflow_handle(run.workflow_id, run_id=run.run_id)
                try:
                    status: StatusResult = await handle.query(
                        DecisionWorkflow.status, StatusInput(), rpc_timeout=each_within
                    )
                except WorkflowQueryFailedError:
                    old.unanswered.append(run.decision_id)
                    return True
                except RPCError as error:
                    if error.status is RPCStatusCode.NOT_FOUND:
                        return True  # it ended since it was listed
                    if error.status is RPCStatusCode.UNAVAILABLE:
                        raise _unavailable(error) from None
                    old.unanswered.append(run.decision_id)
                    return error.status is not RPCStatusCode.DEADLINE_EXCEEDED
            if status.old_branches:
                old.runs[run.decision_id] = status.old_branches
            return True

        if running and not await ask(running[0]):
            old.unanswered.extend(run.decision_id for run in running[1:])
        else:
            await asyncio.gather(*(ask(run) for run in running[1:]))
        old.runs = dict(sorted(old.runs.items()))
        old.unanswered.sort()
        return old

    async def pending(self, decision_id: str, member: str) -> PendingResult:
        result: PendingResult = await self._query(
            decision_id, DecisionWorkflow.pending, PendingInput(member=member)
        )
        return result

    async def runs(self, *statuses: str) -> list[DecisionRun]:
        """The decision workflows' runs Temporal still knows in the given execution statuses
        (`Running`, `Completed`, `ContinuedAsNew`, ...)."""
        listed = ", ".join(f"'{status}'" for status in statuses)
        query = f"WorkflowType = '{DecisionWorkflow.__name__}' AND ExecutionStatus IN ({listed})"
        try:
            return [
                DecisionRun(
                    decision_id=execution.id.removeprefix(WORKFLOW_ID_PREFIX),
                    workflow_id=execution.id,
                    run_id=execution.run_id,
                    status=execution.status.name if execution.status else "UNKNOWN",
                    task_queue=execution.task_queue,
                )
                async for execution in self._client.list_workflows(query)
            ]
        except RPCError as error:
            raise _unavailable(error) from None

    @staticmethod
    def _rpc_error(decision_id: str, error: RPCError) -> ConcordError:
        if error.status is RPCStatusCode.NOT_FOUND:
            return NotFound(f"no decision {decision_id}")
        return _unavailable(error)

    async def _explain(self, decision_id: str, error: RPCError) -> ConcordError:
        """A command to a closed decision is refused by the rules, not a missing decision."""
        if error.status is not RPCStatusCode.NOT_FOUND:
            return _unavailable(error)
        try:
            status = await self.status(decision_id)
        except NotFound:
            return NotFound(f"no decision {decision_id}")
        state = status.state.status.value if status.state else "closed"
        return Refusal(
            Rule.WRONG_STATE,
            f"decision {decision_id} is {state}; it takes no further commands",
            decision=decision_id,
            status=state,
        )


@asynccontextmanager
async def acknowledged(decision_id: str, bound: float | None) -> AsyncIterator[None]:
    """Wait for a command's receipt at most `bound` seconds (None: as long as it takes); past
    it, Unacknowledged. The command is left to its decision, which stores it once it can."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    scope = asyncio.timeout(bound)
    try:
        async with scope:
            yield
    # Temporal's client says in its own words that an update's wait was cut short.
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # the caller itself is cancelled
            raise asyncio.CancelledError from None
        waited = bound if bound is not None and scope.expired() else loop.time() - started
        raise Unacknowledged(decision_id, waited) from None


@asynccontextmanager
async def _settled(start: WithStartWorkflowOperation[Any, Any]) -> AsyncIterator[None]:
    """On the way out, take the start operation's own outcome: when the call failed it holds
    the same failure, which would otherwise be reported as never retrieved."""
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(start.workflow_handle(), timeout=0.1)


def _failed(decision_id: str, failure: WorkflowUpdateFailedError) -> ConcordError:
    """The Concord error an update's failure carries; a Fault when it carries none (a defect,
    a failed workflow), never a refusal the rules did not make."""
    return from_failure(failure) or Fault(
        f"decision {decision_id}: the command failed without a refusal ({failure.cause or failure})"
    )


def _exists(decision_id: str) -> Refusal:
    return Refusal(
        Rule.DECISION_EXISTS, f"decision {decision_id} already exists", decision=decision_id
    )


def _key_of(command: Command, key: str | None) -> str:
    """The idempotency key a command is given under: a signed answer's is the one its member
    signed; any other's is the caller's, or a new one."""
    if not isinstance(command, MemberAnswer) or command.signature is None:
        return key or str(uuid.uuid4())
    signed = answer_key(command.actor, command.signature.command_key)
    if key is not None and key != signed:
        raise InvalidInput(
            "idempotency_key", f"must be the command key the member signed (giving {signed!r})"
        )
    return signed


def _unavailable(error: RPCError) -> ConcordError:
    """Temporal could not answer: say so in a person's words, and what to start."""
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return Unavailable(
            "Temporal cannot be reached; start it (`concord dev`) or check "
            f"CONCORD_TEMPORAL_ADDRESS ({error.status.name.lower()})"
        )
    return Unavailable(f"Temporal refused the call ({error.status.name.lower()}): {error.message}")
