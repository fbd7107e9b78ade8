"""SupersessionWorkflow: a later decision supersedes an earlier one, on both decisions' streams."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.checks import Practice
    from domain.commands import RecordSupersession, SupersedeDecision
    from domain.decider import decide
    from domain.errors import ConcordError, NotFound
    from workflows.failures import to_failure
    from workflows.messages import (
        AMENDED_2026_12_06,
        DELIVER_COMMAND,
        READ_DECISION,
        DeliverInput,
        ReadDecisionInput,
        ReadDecisionResult,
        Receipt,
        SupersessionInput,
        SupersessionResult,
    )

_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(seconds=30)
)
"""Until the store and the decisions answer: a refusal by the rules is never retried."""
_DELIVERY_TIMEOUT: Final = timedelta(seconds=60)


@workflow.defn
class SupersessionWorkflow:
    """Records a supersession on both streams, or on neither.

    The successor is checked first against its log (it must exist and have been adopted); then
    the superseded decision records `DecisionSuperseded` (its own rules may refuse, and nothing
    is written); then the successor records `DecisionSupersedes`, retried until it is stored.
    Either decision's workflow may have closed (a completed decision): it is given the command
    in a new run started from its log, so its stream keeps one writer and every event an
    archived history that implies it.
    """

    @workflow.run
    async def run(self, input: SupersessionInput) -> SupersessionResult:
        superseding = input.command
        link = successor_command(superseding)
        successor: ReadDecisionResult = await workflow.execute_activity(
            READ_DECISION,
            ReadDecisionInput(decision_id=link.decision_id),
            result_type=ReadDecisionResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_RETRY,
        )
        if successor.state is None:
            raise to_failure(
                NotFound(f"no decision {link.decision_id}: a decision is superseded by another")
            )
        try:
            practice = Practice(amended_2026_12_06=workflow.patched(AMENDED_2026_12_06))
            decide(successor.state, link, workflow.now(), practice=practice)
        except ConcordError as refused:
            raise to_failure(refused) from None
        superseded = await self._deliver(superseding, input.idempotency_key, input)
        recorded = await self._deliver(link, successor_key(input.idempotency_key), input)
        return SupersessionResult(superseded=superseded, successor=recorded)

    async def _deliver(
        self, command: SupersedeDecision | RecordSupersession, key: str, input: SupersessionInput
    ) -> Receipt:
        try:
            receipt: Receipt = await workflow.execute_activity(
                DELIVER_COMMAND,
                DeliverInput(
                    command=command,
                    idempotency_key=key,
                    search_attributes=input.search_attributes,
                ),
                result_type=Receipt,
                start_to_close_timeout=_DELIVERY_TIMEOUT,
                retry_policy=_RETRY,
            )
        except ActivityError as failed:
            if isinstance(failed.cause, ApplicationError):
                workflow.logger.warning(
                    "supersession refused",
                    extra={"decision_id": command.decision_id, "reason": str(failed.cause)},
                )
                raise failed.cause from None
            raise
        return receipt


def successor_command(superseding: SupersedeDecision) -> RecordSupersession:
    """The successor's side of `superseding`, recorded by the same principal."""
    return RecordSupersession(
        decision_id=superseding.superseded_by,
        actor=superseding.actor,
        recorded_by=superseding.recorded_by,
        supersedes=superseding.decision_id,
        reason=superseding.reason,
    )


def successor_key(key: str) -> str:
    """The successor side's idempotency key, derived from the request's."""
    return "supersedes-" + hashlib.sha256(key.encode()).hexdigest()[:32]
