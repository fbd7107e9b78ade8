"""A run's history is archived as the same canonical text whichever way its JSON is written:
the archive's digest, which the log binds, must not depend on how the export was encoded."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from activities.events import exported
from store.archive import canonical_history

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_a_committed_history_exports_to_the_text_temporals_own_export_gives(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())

    ours = canonical_history(exported(history))

    assert ours == canonical_history(history.to_json())
    assert orjson.loads(ours)["events"][0]["eventId"] == "1"


def test_text_beyond_ascii_and_fractions_export_alike() -> None:
    """Text beyond ASCII, which Temporal's export escapes (emoji as surrogate pairs) and orjson
    writes as it is, and a double with no short decimal form (a retry policy's coefficient)
    archive as one text."""
    event = HistoryEvent(event_id=7, event_type=EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    scheduled = event.activity_task_scheduled_event_attributes
    scheduled.activity_id = "Ελληνικά, русский, 中文, عربى, emoji 🗳️"
    scheduled.retry_policy.backoff_coefficient = 0.1 + 0.2
    scheduled.retry_policy.maximum_attempts = 2**31 - 1
    failed = HistoryEvent(event_id=8, event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED)
    failed.workflow_execution_failed_event_attributes.failure.message = "refusé: « délai » dépassé"
    history = WorkflowHistory("w", [event, failed])

    ours = canonical_history(exported(history))

    assert ours == canonical_history(history.to_json())
    assert "\\u00e9" in history.to_json() and "é" in exported(history)  # written apart
    scheduled_json = orjson.loads(ours)["events"][0]["activityTaskScheduledEventAttributes"]
    assert scheduled_json["retryPolicy"]["backoffCoefficient"] == 0.1 + 0.2
