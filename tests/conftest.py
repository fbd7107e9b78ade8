"""Settings for the whole suite."""

from __future__ import annotations

from typing import Final

import pytest
from hypothesis import HealthCheck, settings

# The suite runs on shared two-core machines whose speed varies from run to run: property tests
# are judged by what they find, not by how fast examples are generated or run.
settings.register_profile("concord", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("concord")

CANCEL_OF_A_FINISHED_ACTIVITY: Final = (
    "ignore:Cannot find activity to cancel:UserWarning:temporalio.worker._activity"
)
"""Temporal's worker warns when its shutdown cancels an activity that has just finished, a
harmless race. Made an error by `filterwarnings = ["error"]`, the warning is raised inside the
SDK's activity poll loop, which stops polling; the core worker then waits for that poll forever,
and the worker fixture's teardown hangs (seen after a decision's last notification, whose
webhook fan-out activity ends as the worker stops)."""


def pytest_configure(config: pytest.Config) -> None:
    # Appended after pyproject's "error", so it takes precedence for this one warning.
    config.addinivalue_line("filterwarnings", CANCEL_OF_A_FINISHED_ACTIVITY)
