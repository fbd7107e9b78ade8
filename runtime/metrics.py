"""Metrics of the processes that have no HTTP API: the projector's lag behind the log, served
for Prometheus. (A worker's metrics go through the Temporal SDK's runtime: runtime.temporal.)"""

from __future__ import annotations

import asyncio
from typing import Final

import structlog
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from domain.errors import ConcordError
from store.projections import ProjectionRunner

log = structlog.get_logger(__name__)

LAG_INTERVAL_S: Final = 1.0


async def serve_projector_metrics(runner: ProjectionRunner, port: int) -> None:
    """Serve `concord_projector_lag_events` (per projection: events in the log it has not
    applied yet) on `port` of every interface, measured every second until cancelled."""
    registry = CollectorRegistry()
    lag = Gauge(
        "concord_projector_lag_events",
        "Events in the log a projection has not applied yet.",
        ["projection"],
        registry=registry,
    )
    start_http_server(port, registry=registry)
    log.info("projector metrics served", port=port)
    while True:
        try:
            head, _ = await runner.store.head()
            for name in runner.projections:
                lag.labels(projection=name).set(head - await runner.position(name))
        except ConcordError as error:  # the store is down: the lag is stale, and says so
            log.warning("projector lag not measured", error=error.line())
        await asyncio.sleep(LAG_INTERVAL_S)
