"""CheckpointWorkflow: one publication of the log's checkpoint, as the schedule starts it."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.messages import PUBLISH_CHECKPOINT, CheckpointInput, CheckpointResult

PUBLISH_TIMEOUT: Final = timedelta(minutes=5)
"""One attempt: catching the tree up (the projector keeps it close to the head) and signing."""
PUBLISH_RETRY: Final = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)
"""A store briefly away is waited for; one that stays away fails this run, and the next run of
the schedule tries again (it skips runs while one is under way, so none may retry forever)."""


@workflow.defn
class CheckpointWorkflow:
    """Publishes a signed checkpoint of the log's tree, unless the tree has not grown."""

    @workflow.run
    async def run(self, input: CheckpointInput) -> CheckpointResult:
        result: CheckpointResult = await workflow.execute_activity(
            PUBLISH_CHECKPOINT,
            input,
            result_type=CheckpointResult,
            start_to_close_timeout=PUBLISH_TIMEOUT,
            retry_policy=PUBLISH_RETRY,
        )
        return result
