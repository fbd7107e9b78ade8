"""Connecting to Temporal: one client factory with the pydantic data converter."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from domain.errors import Unavailable


async def connect(address: str, namespace: str) -> Client:
    """A client for `address`; Unavailable, saying what to start, when no server answers."""
    try:
        return await Client.connect(
            address, namespace=namespace, data_converter=pydantic_data_converter
        )
    except (RuntimeError, RPCError):
        # The driver's own text (a tonic transport error) says nothing a person can act on.
        raise Unavailable(
            f"Temporal is not reachable at {address}; start it with `concord dev` "
            "or set CONCORD_TEMPORAL_ADDRESS"
        ) from None
