"""DecisionWorkflow: one durable workflow per joint decision, from proposal to its end."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.commands import CommandBase, MemberAnswer
    from domain.decider import Practice, decide, evolve
    from domain.errors import ConcordError, Fault, InvalidInput
    from domain.events import Event
    from domain.keys import answered_on_behalf
    from domain.nrc import NRC_ROSTERS
    from domain.state import DecisionState
    from domain.statements import answer_key
    from domain.values import TERMINAL
    from workflows.clock import Clock
    from workflows.code import Code
    from workflows.failures import to_failure
    from workflows.messages import (
        AMENDED_2026_12_06,
        APPEND_EVENTS,
        ARCHIVE_HEARTBEAT_TIMEOUT,
        ARCHIVE_HISTORY,
        COUNCIL_RULES,
        NOTIFY,
        AppendInput,
        AppendResult,
        ArchiveInput,
        ArchiveResult,
        CommandInput,
        DecisionInput,
        DecisionResult,
        NotifyInput,
        NotifyResult,
        PendingInput,
        PendingResult,
        PendingRound,
        Receipt,
        StatusInput,
        StatusResult,
        StoredCommand,
        command_digest,
    )
    from workflows.receipts import Accepted, Receipts, Validated

STATE_ATTRIBUTE: Final = SearchAttributeKey.for_keyword("ConcordState")
AREA_ATTRIBUTE: Final = SearchAttributeKey.for_keyword("ConcordArea")
PROPOSER_ATTRIBUTE: Final = SearchAttributeKey.for_keyword("ConcordProposer")
SEARCH_ATTRIBUTES: Final = (STATE_ATTRIBUTE, AREA_ATTRIBUTE, PROPOSER_ATTRIBUTE)

NOTIFIED: Final = frozenset(
    {
        "ConsensusRoundOpened",
        "IssueResolutionProposed",
        "RemindersSent",
        "ConsensusFailed",
        "DecisionAdopted",
        "DecisionLapsed",
        "ReportDeadlineMissed",
        "ReviewDeadlineMissed",
        "ImplementationIssueRaised",
        "ExtraordinaryMeetingRequested",
        "ImplementationIssueResolved",
    }
)

_STORE_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(seconds=30)
)
"""The store being down must delay a receipt, never lose an accepted event: retry forever."""
_LOCAL_STORE_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(minutes=2)
)
LOCAL_RETRY_THRESHOLD: Final = timedelta(seconds=5)
"""The local append's first attempts (0.5 s, 1 s, 2 s, 4 s apart) wait inside the workflow task:
a store back within seconds costs no more. Longer waits (8 s, 16 s, ... up to 2 min) are durable
timers: a task kept open across them would be kept alive by heartbeats, three history events
every few seconds (~2,700 an hour), and an outage of a day would end the decision at Temporal's
history limit; by timers an hour of outage adds a few hundred."""
APPEND_TIMEOUT: Final = timedelta(seconds=3)
"""An append takes milliseconds: an attempt that has not reported by then lost its connection
(or, as a regular activity, its worker) and is retried; a retry of a stored batch stores nothing.
"""
_ARCHIVE_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=20,
)
"""About a quarter of an hour of attempts; the events are stored by then, so an archive that
still fails is reported (log, metric, `concord doctor`) and never keeps the decision open."""
WORKFLOW_TASK_TIMEOUT: Final = timedelta(seconds=3)
"""A workflow task takes milliseconds; one held by a worker that died is handed on after this,
not after Temporal's default of 10 s, so a worker loss delays the decision's commands briefly."""
NOTIFY_IN_BACKGROUND: Final = "notify-in-background"
"""Patch: notifications are sent beside the run loop instead of between two appends."""
ARCHIVE_IN_BACKGROUND: Final = "archive-in-background"
"""Patch: a run archives the previous run's history beside its loop, not before it."""
STEADY_ALARM: Final = "steady-alarm"
"""Patch: the run loop keeps one timer for the next deadline (or one idle wake) across its
waits, instead of starting and cancelling a timer at each wait."""
APPEND_LOCALLY: Final = "append-locally"
"""Patch: batches are stored by a local activity in the task that decided them (no round trip
through the server's task queues); a batch an earlier, failed attempt of the task stored is
adopted as the log holds it."""
TELL_ANSWERS_ON_BEHALF: Final = "tell-answers-on-behalf"
"""Patch: a member is told (notified, its webhooks) of an answer the secretariat recorded in its
name without its signature."""
CLOCK_AT_EFFECTIVE_TIME: Final = "clock-at-effective-time"
"""Patch: the clock's commands are decided at the instant they fall due, not when they ran."""
OUTCOMES_BY_PROCEDURE: Final = "outcomes-by-procedure"
"""Patch: a round agreed by every member's concurrence is recorded as the procedure's outcome."""
JOINT_ITEMS_BY_CHAIR: Final = "joint-items-by-chair"
"""Patch: an item assigned to all members jointly is completed by the chair or monitoring body."""
NOTIFY_FROM_LOG: Final = "notify-from-log"
"""Patch: people are told of stored events by the log's follower (activities.notify, in the
projector), not by an activity of the decision's run."""
STATE_INDEXED_AT_CLOSE: Final = "state-indexed-at-close"
"""Patch: Temporal's lists index a decision's area and proposer once a run (a continued run
inherits them) and its state once it closes, not at every change of state: Concord's own lists
answer from the read models, and each upsert cost the server a history event and a write."""
RELEASE_2026_12_07: Final = "release-2026-12-07"
"""Patch: the run takes the new branch of every patch in `FOLDED_INTO_RELEASE` with one marker
(workflows.code); a run without it asks each of them."""
FOLDED_INTO_RELEASE: Final = frozenset(
    {
        NOTIFY_IN_BACKGROUND,
        ARCHIVE_IN_BACKGROUND,
        STEADY_ALARM,
        APPEND_LOCALLY,
        TELL_ANSWERS_ON_BEHALF,
        CLOCK_AT_EFFECTIVE_TIME,
        OUTCOMES_BY_PROCEDURE,
        JOINT_ITEMS_BY_CHAIR,
        AMENDED_2026_12_06,
        COUNCIL_RULES,
        NOTIFY_FROM_LOG,
        STATE_INDEXED_AT_CLOSE,
    }
)
CLOSED_RUN_ARCHIVED_BY_FOLLOWER: Final = "closed-run-archived-by-follower"
"""Patch: the run a decision closes in is archived whole, once closed, by the log's follower
(activities.archivist, in the projector), not by an activity of the run as its last step."""
RELEASE_2026_12_07_2: Final = "release-2026-12-07.2"
"""Patch: the run takes the new branch of every patch in `FOLDED_INTO_RELEASE_2` with one
marker; a run without it asks `RELEASE_2026_12_07`, and so on (workflows.code)."""
FOLDED_INTO_RELEASE_2: Final = FOLDED_INTO_RELEASE | {CLOSED_RUN_ARCHIVED_BY_FOLLOWER}
ALARM_RINGS_EARLY: Final = "alarm-rings-early"
"""Patch: the run loop's alarm is kept while it rings no later than the next deadline, and
replaced only by a sooner one (workflows.clock): a lifecycle started 7 timers and cancelled 6,
now 2 and 1."""
RELEASE_2026_12_08: Final = "release-2026-12-08"
"""Patch: the run takes the new branch of every patch in `FOLDED_INTO_RELEASE_3` with one
marker; a run without it asks `RELEASE_2026_12_07_2`, and so on (workflows.code)."""
FOLDED_INTO_RELEASE_3: Final = FOLDED_INTO_RELEASE_2 | {ALARM_RINGS_EARLY}
RELEASES: Final = (
    (RELEASE_2026_12_08, FOLDED_INTO_RELEASE_3),
    (RELEASE_2026_12_07_2, FOLDED_INTO_RELEASE_2),
    (RELEASE_2026_12_07, FOLDED_INTO_RELEASE),
)
"""Newest first: a run takes the newest release whose marker it has (a new run: the first)."""
ARCHIVE_FAILURES: Final = "concord_history_archive_failures"
_NOTIFY_RETRY: Final = RetryPolicy(maximum_attempts=5, maximum_interval=timedelta(minutes=1))


@workflow.defn
class DecisionWorkflow:
    """Holds one decision's state; applies accepted commands at once and stores them in batches."""

    @workflow.init
    def __init__(self, input: DecisionInput) -> None:
        # Validators and handlers read this state: it must exist before run() has run a line.
        self._code = Code(*RELEASES)
        self._practice = Practice(
            outcomes_by_procedure=self._code.patched(OUTCOMES_BY_PROCEDURE),
            joint_items_by_chair=self._code.patched(JOINT_ITEMS_BY_CHAIR),
            amended_2026_12_06=self._code.patched(AMENDED_2026_12_06),
            council_rules=self._code.patched(COUNCIL_RULES),
        )
        self._decision_id = input.decision_id
        self._input = input
        self._rosters = input.rosters or NRC_ROSTERS
        self._members = frozenset(m for r in self._rosters.rosters for m in r.member_codes)
        """Everyone who sits on any of the decision's roster versions."""
        self._state: DecisionState | None = input.state
        self._stored_version = input.state.version if input.state else 0
        self._pending: list[Event] = []
        self._accepted: list[Accepted] = []
        self._stored_state = input.state
        self._receipts = Receipts(input.decision_id, input.receipts)
        self._updates = 0
        self._events = 0
        self._start_refusal: ApplicationError | None = None
        self._state_indexed_at_close = self._code.patched(STATE_INDEXED_AT_CLOSE)
        self._indexed: tuple[str | None, ...] = (None, None, None)
        """The search attributes the run set last: state, area, proposer."""
        if self._state_indexed_at_close:
            inherited = workflow.info().typed_search_attributes
            self._indexed = tuple(inherited.get(key) for key in SEARCH_ATTRIBUTES)
        self._background: set[asyncio.Task[None]] = set()
        """Work beside the run loop (the previous run's archive; notifications on the old branch):
        finished before the run ends."""
        self._previous_archived = True
        self._clock = Clock(
            steady_alarm=self._code.patched(STEADY_ALARM),
            rings_early=self._code.patched(ALARM_RINGS_EARLY),
        )
        self._append_locally = self._code.patched(APPEND_LOCALLY)
        self._notify_by_activity = not self._code.patched(NOTIFY_FROM_LOG)
        if input.state is None and input.proposal is not None:
            try:
                self._accept(input.proposal, input.proposal_key or "proposal")
            except ApplicationError as refused:
                self._start_refusal = refused

    # --- messages -------------------------------------------------------------------------

    @workflow.update
    async def execute(self, input: CommandInput) -> Receipt:
        """Decide a command; returns once its events are stored in the log."""
        key = input.idempotency_key
        if not self._receipts.known(key):
            self._updates += 1
            self._accept(input.command, key)
        await workflow.wait_condition(lambda: self._receipts.answered(key))
        return self._receipts.outcome(key)

    @execute.validator
    def _validate_execute(self, input: CommandInput) -> None:
        key = input.idempotency_key
        if self._receipts.known(key):
            given = self._receipts.digest_given(key)
            if given and given != command_digest(input.command):
                raise to_failure(
                    InvalidInput(
                        "idempotency_key",
                        f"{key!r} was already used for another command; use a new key",
                    )
                )
            return
        c = input.command
        if isinstance(c, MemberAnswer) and c.signature is not None:
            signed = answer_key(c.actor, c.signature.command_key)
            if key != signed:
                raise to_failure(
                    InvalidInput(
                        "idempotency_key",
                        f"must be {signed!r}, the command key the member signed: a signed "
                        "answer is given once, under that key",
                    )
                )
        events = self._decide(input.command)
        version = self._state.version if self._state is not None else 0
        self._receipts.validated(key, Validated(input.command, version, workflow.now(), events))

    @workflow.query
    def status(self, input: StatusInput) -> StatusResult:
        return StatusResult(
            state=self._state,
            stored_version=self._stored_version,
            run_number=self._input.run_number,
            old_branches=self._code.old_branches,
        )

    @workflow.signal
    def renew(self) -> None:
        """Continue as new once the work in hand is stored: the next run runs the current code
        only (workflows.code)."""
        self._code.renewal_asked = True

    @workflow.query
    def pending(self, input: PendingInput) -> PendingResult:
        rounds = (
            ()
            if self._state is None
            else tuple(
                PendingRound(
                    round=r.number,
                    subject=r.subject,
                    text_hash=r.text_hash,
                    deadline=r.deadline.isoformat(),
                )
                for r in self._state.pending_for(input.member)
            )
        )
        return PendingResult(decision_id=self._decision_id, member=input.member, rounds=rounds)

    # --- the run loop -----------------------------------------------------------------------

    @workflow.run
    async def run(self, input: DecisionInput) -> DecisionResult:
        if input.previous_run_id is not None:
            if self._code.patched(ARCHIVE_IN_BACKGROUND):
                # The previous run's history is archived beside the loop: commands that came
                # in with the continue-as-new are not kept waiting for it.
                self._background.add(
                    asyncio.create_task(self._archive_previous(input.previous_run_id))
                )
            else:
                self._previous_archived = await self._archive(input.previous_run_id)
        if self._state is None:
            raise self._start_refusal or to_failure(
                InvalidInput("proposal", "a decision starts with its proposal")
            )
        self._upsert_search_attributes()
        while True:
            if self._pending:
                await self._store_pending()
                continue
            if self._run_due_clock():
                continue
            if self._wants_to_end() and workflow.all_handlers_finished():
                if self._background:
                    await self._background_done()
                    continue  # commands may have come in meanwhile: they are stored first
                break
            await self._clock.wait(self._state, self._has_work)
        archived = self._previous_archived
        if self._closed():
            if not self._code.patched(CLOSED_RUN_ARCHIVED_BY_FOLLOWER):
                archived = await self._archive(workflow.info().run_id) and archived
            return DecisionResult(
                decision_id=self._decision_id,
                status=self._state.status.value,
                stream_version=self._stored_version,
                runs=self._input.run_number,
                archived=archived,
            )
        workflow.continue_as_new(self._carry_over(), task_timeout=WORKFLOW_TASK_TIMEOUT)

    def _decide(self, command: CommandBase, at: datetime | None = None) -> list[Event]:
        if command.decision_id != self._decision_id:
            raise to_failure(
                InvalidInput(
                    "decision_id",
                    f"this workflow holds {self._decision_id}, not {command.decision_id}",
                )
            )
        try:
            return decide(
                self._state,
                command,
                at or workflow.now(),
                self._rosters,
                practice=self._practice,
            )
        except ConcordError as error:
            raise to_failure(error) from None

    def _accept(self, command: CommandBase, key: str | None, at: datetime | None = None) -> None:
        """Apply an accepted command's events now, so the next validator sees them; queue them."""
        at = at or workflow.now()
        version = self._state.version if self._state is not None else 0
        events = self._receipts.validated_events(key, command, version, at) or self._decide(
            command, at
        )
        state = self._state
        try:
            for event in events:
                state = evolve(state, event)
        except ConcordError as defect:
            # decide accepted what evolve cannot apply: a defect. The command fails and nothing
            # of it is kept; the decision goes on, never wedged by a task that fails forever.
            workflow.logger.error(
                "accepted command cannot be applied",
                extra={"decision_id": self._decision_id, "error": defect.line()},
            )
            raise to_failure(
                Fault(f"the command was accepted but cannot be applied: {defect.message}")
            ) from None
        self._state = state
        self._pending.extend(events)
        self._events += len(events)
        if events and state is not None:
            first, last = events[0].stream_version, events[-1].stream_version
            self._accepted.append(Accepted(key, command, at, first, last, state))
        if events and key is not None:
            first, last = events[0].stream_version, events[-1].stream_version
            self._receipts.awaiting(key, first, last, command_digest(command))

    def _run_due_clock(self) -> bool:
        """Issue the clock's commands that have fallen due; True when any was accepted."""
        assert self._state is not None
        now = workflow.now()
        for due in self._clock.due(self._state):
            if due.at > now:
                break
            # The procedure's outcome takes effect at its deadline, even when the decision's
            # workflow ran later (the stack was down): legal time, not processing time.
            effective = (
                max(due.at, self._state.last_event_at)
                if self._code.patched(CLOCK_AT_EFFECTIVE_TIME)
                else now
            )
            try:
                self._accept(due.command, None, at=effective)
            except ApplicationError as refused:
                # Never expected (the domain's own clock issued it); skip it rather than spin.
                self._clock.skip(due)
                workflow.logger.warning(
                    "clock command refused",
                    extra={"decision_id": self._decision_id, "reason": str(refused)},
                )
                continue
            return True
        return False

    def _has_work(self) -> bool:
        """Events to store, or the run to end (once no handler is left running)."""
        return bool(self._pending) or (self._wants_to_end() and workflow.all_handlers_finished())

    def _closed(self) -> bool:
        return self._state is not None and self._state.status in TERMINAL

    def _wants_to_end(self) -> bool:
        long_run = (
            self._code.renewal_asked
            or self._events >= self._input.max_events_per_run
            or self._updates >= self._input.max_updates_per_run
            or workflow.info().is_continue_as_new_suggested()
        )
        return self._closed() or long_run

    async def _store_pending(self) -> None:
        batch, self._pending = self._pending, []
        accepted, self._accepted = self._accepted, []
        appending = AppendInput(
            decision_id=self._decision_id,
            expected_version=batch[0].stream_version - 1,
            events=tuple(batch),
            commands=tuple(
                StoredCommand(
                    idempotency_key=a.key,
                    first_version=a.first_version,
                    last_version=a.last_version,
                    command_digest=self._receipts.digest(a.key),
                )
                for a in accepted
                if a.key is not None
            ),
            adopt=self._append_locally,
        )
        if self._append_locally:
            result: AppendResult = await workflow.execute_local_activity(
                APPEND_EVENTS,
                appending,
                result_type=AppendResult,
                start_to_close_timeout=APPEND_TIMEOUT,
                retry_policy=_LOCAL_STORE_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            )
            if result.adopted:
                batch = list(result.adopted)
                self._adopt(result, [*accepted, *self._accepted])
            else:
                self._stored_state = accepted[-1].state
        else:
            result = await workflow.execute_activity(
                APPEND_EVENTS,
                appending,
                result_type=AppendResult,
                start_to_close_timeout=APPEND_TIMEOUT,
                retry_policy=_STORE_RETRY,
            )
        self._stored_version = batch[-1].stream_version
        self._receipts.stored(result.events, batch, self._stored_version)
        self._upsert_search_attributes()
        if not self._notify_by_activity:
            return
        notable = tuple(e for e in batch if e.type in NOTIFIED)
        on_behalf = {e.stream_version for e in batch if answered_on_behalf(e, self._members)}
        if on_behalf and self._code.patched(TELL_ANSWERS_ON_BEHALF):
            notable = tuple(e for e in batch if e.type in NOTIFIED or e.stream_version in on_behalf)
        if not notable:
            return
        if self._code.patched(NOTIFY_IN_BACKGROUND):
            # People are told in the background: a slow or failing channel never delays the
            # next batch; the run waits for what is still being sent only before it ends.
            self._background.add(asyncio.create_task(self._notify(notable)))
        else:
            await self._notify(notable)

    def _adopt(self, result: AppendResult, undecided: list[Accepted]) -> None:
        """Take on the events an earlier attempt of this task stored (its outcome was lost with
        its worker) in place of the batch decided again: the log is the truth. The commands
        those events hold get their receipts; the others are decided again after them, and the
        clock's commands are found again by the clock."""
        state = self._stored_state
        try:
            for event in result.adopted:
                state = evolve(state, event)
        except ConcordError as defect:
            # What the log holds cannot be applied: a defect, or a log changed behind Concord's
            # back. The task fails and is retried: the decision waits, visibly, until repaired.
            raise RuntimeError(f"the stored events cannot be applied: {defect.line()}") from None
        self._state = self._stored_state = state
        self._pending, self._accepted = [], []
        workflow.logger.warning(
            "a batch stored by an earlier attempt of the task is adopted",
            extra={
                "decision_id": self._decision_id,
                "versions": f"{result.adopted[0].stream_version}.."
                f"{result.adopted[-1].stream_version}",
            },
        )
        held = set()
        for command in result.commands:
            held.add(command.idempotency_key)
            self._receipts.awaiting(
                command.idempotency_key,
                command.first_version,
                command.last_version,
                command.command_digest,
            )
        for entry in undecided:
            if entry.key is None or entry.key in held:
                continue
            self._receipts.not_awaiting(entry.key)
            assert state is not None
            try:
                self._accept(entry.command, entry.key, max(entry.at, state.last_event_at))
            except ApplicationError as refused:
                self._receipts.refused(entry.key, refused)

    async def _background_done(self) -> None:
        running = tuple(self._background)
        await asyncio.gather(*running)
        self._background.difference_update(running)

    async def _notify(self, events: tuple[Event, ...]) -> None:
        """Tell people; a failing channel is logged and never holds up the decision."""
        try:
            await workflow.execute_activity(
                NOTIFY,
                NotifyInput(decision_id=self._decision_id, events=events),
                result_type=NotifyResult,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=_NOTIFY_RETRY,
            )
        except ActivityError as failure:
            workflow.logger.warning(
                "notification failed",
                extra={"decision_id": self._decision_id, "error": str(failure.cause)},
            )

    def _upsert_search_attributes(self) -> None:
        """Index the decision for Temporal's lists (the Web UI, `temporal workflow list`): its
        state (once closed, since `state-indexed-at-close`), area and proposer, as they change."""
        if not self._input.search_attributes or self._state is None:
            return
        # Since the patch a running decision has no state in the lists (one inherited from a
        # run before it is removed): a state there is a closed decision's, never a stale one.
        shown = self._closed() or not self._state_indexed_at_close
        state = self._state.status.value if shown else None
        indexed = (state, self._state.area, self._state.proposer)
        if indexed == self._indexed:
            return
        previous, self._indexed = self._indexed, indexed
        workflow.upsert_search_attributes(
            [
                key.value_set(value) if value is not None else key.value_unset()
                for key, value, was in zip(SEARCH_ATTRIBUTES, indexed, previous, strict=True)
                # Before the patch every key was sent at each change; since, those that changed.
                if value != was or not self._state_indexed_at_close
            ]
        )

    async def _archive_previous(self, run_id: str) -> None:
        self._previous_archived = await self._archive(run_id)

    async def _archive(self, run_id: str) -> bool:
        """Archive a run's history; False, logged and counted, when every attempt failed."""
        try:
            await workflow.execute_activity(
                ARCHIVE_HISTORY,
                ArchiveInput(
                    decision_id=self._decision_id,
                    workflow_id=workflow.info().workflow_id,
                    run_id=run_id,
                ),
                result_type=ArchiveResult,
                start_to_close_timeout=timedelta(minutes=2),
                heartbeat_timeout=ARCHIVE_HEARTBEAT_TIMEOUT,
                retry_policy=_ARCHIVE_RETRY,
            )
        except ActivityError as failure:
            workflow.logger.error(
                "history not archived",
                extra={
                    "decision_id": self._decision_id,
                    "run_id": run_id,
                    "error": str(failure.cause),
                },
            )
            workflow.metric_meter().create_counter(
                ARCHIVE_FAILURES, "Runs whose history could not be archived into the store."
            ).add(1)
            return False
        return True

    def _carry_over(self) -> DecisionInput:
        return self._input.model_copy(
            update={
                "proposal": None,
                "state": self._state,
                "receipts": self._receipts.kept(),
                "previous_run_id": workflow.info().run_id,
                "run_number": self._input.run_number + 1,
            }
        )
