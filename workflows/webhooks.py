"""WebhookDeliveryWorkflow: one notable event delivered to one webhook, retried for a day."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.messages import (
        DELIVER_WEBHOOK,
        FAN_OUT_WEBHOOKS,
        WebhookDeliveryInput,
        WebhookDeliveryResult,
        WebhookFanOutInput,
        WebhookFanOutResult,
    )

DELIVERY_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)
"""1 s, 2 s, 4 s, ... then every 10 minutes, until DELIVERY_WINDOW has passed."""
DELIVERY_WINDOW: Final = timedelta(hours=24)
"""How long an endpoint may stay down before its delivery is given up (and shown as failed)."""
ATTEMPT_TIMEOUT: Final = timedelta(seconds=30)
"""One attempt: the endpoint's 10 s, and the store's record of the outcome."""


@workflow.defn
class WebhookDeliveryWorkflow:
    """Delivers an event to a webhook apart from its decision: a slow or failing endpoint is
    retried here, never in the decision's workflow."""

    @workflow.run
    async def run(self, input: WebhookDeliveryInput) -> WebhookDeliveryResult:
        try:
            result: WebhookDeliveryResult = await workflow.execute_activity(
                DELIVER_WEBHOOK,
                input,
                result_type=WebhookDeliveryResult,
                schedule_to_close_timeout=DELIVERY_WINDOW,
                start_to_close_timeout=ATTEMPT_TIMEOUT,
                retry_policy=DELIVERY_RETRY,
            )
        except ActivityError as failure:
            # Given up: the deliveries table holds the last attempt's outcome for the operators.
            workflow.logger.warning(
                "webhook delivery given up",
                extra={
                    "delivery_id": input.delivery_id,
                    "decision_id": input.event.decision_id,
                    "error": str(failure.cause),
                },
            )
            return WebhookDeliveryResult(delivered=False, status=str(failure.cause))
        return result


FAN_OUT_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
"""Until the store answers: which webhooks an event concerns is never given up."""


@workflow.defn
class WebhookFanOutWorkflow:
    """Finds the webhooks one notable event concerns and starts a delivery for each. Its own
    workflow, started by the decision's notification with no store involved, so a store that
    is down then delays the deliveries and never loses them."""

    @workflow.run
    async def run(self, input: WebhookFanOutInput) -> WebhookFanOutResult:
        result: WebhookFanOutResult = await workflow.execute_activity(
            FAN_OUT_WEBHOOKS,
            input,
            result_type=WebhookFanOutResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=FAN_OUT_RETRY,
        )
        return result
