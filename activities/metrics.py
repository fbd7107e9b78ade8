"""The metrics the activities record through the SDK's runtime, by name, with their histograms'
boundaries. Apart from the activities, so that a client's connection (runtime.temporal) sets the
boundaries without importing the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

APPEND_SECONDS: Final = "concord_append_seconds"
APPEND_BATCH_EVENTS: Final = "concord_append_batch_events"
HISTOGRAM_BUCKETS: Final[Mapping[str, Sequence[float]]] = {
    # An append takes milliseconds, a slow one a second or more: boundaries in seconds.
    APPEND_SECONDS: (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    APPEND_BATCH_EVENTS: (1, 2, 5, 10, 20, 50, 100, 200, 500),
}
"""The boundaries of the histograms appends record (the SDK's defaults are for milliseconds)."""
