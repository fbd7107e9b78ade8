"""Connecting to Temporal: one client factory, with Concord's data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError

from activities.metrics import HISTOGRAM_BUCKETS
from domain.errors import Unavailable
from workflows.converter import DATA_CONVERTER


async def connect(
    address: str, namespace: str, metrics_port: int | None = None, *, lazy: bool = False
) -> Client:
    """A client for `address`; Unavailable, saying what to start, when no server answers. With
    `metrics_port`, the SDK's runtime (and the metrics workflows and activities record through
    it) serves Prometheus metrics on that port of every interface. A `lazy` client connects at
    its first call, so a server down now fails that call instead."""
    runtime = None
    if metrics_port is not None:
        runtime = Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(
                    bind_address=f"0.0.0.0:{metrics_port}",
                    histogram_bucket_overrides=HISTOGRAM_BUCKETS,
                )
            )
        )
    try:
        return await Client.connect(
            address,
            namespace=namespace,
            data_converter=DATA_CONVERTER,
            runtime=runtime,
            lazy=lazy,
        )
    except (RuntimeError, RPCError):
        # The driver's own text (a tonic transport error) says nothing a person can act on.
        raise Unavailable(
            f"Temporal is not reachable at {address}; start it with `concord dev` "
            "or set CONCORD_TEMPORAL_ADDRESS"
        ) from None
