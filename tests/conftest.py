"""Settings for the whole suite."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# The suite runs on shared two-core machines whose speed varies from run to run: property tests
# are judged by what they find, not by how fast examples are generated or run.
settings.register_profile("concord", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("concord")
