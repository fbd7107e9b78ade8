"""Upcasters: functions that lift an old event payload to the next schema version, on read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.errors import InvalidInput

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class Upcasters:
    """A registry of upcasters, one per (event type, schema version it lifts from)."""

    def __init__(self) -> None:
        self._lifts: dict[tuple[str, int], Upcaster] = {}

    def register(self, type: str, from_schema_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: `fn` turns a `type` payload of `from_schema_version` into the next one."""

        def add(upcaster: Upcaster) -> Upcaster:
            key = (type, from_schema_version)
            if key in self._lifts:
                raise InvalidInput("upcaster", f"{type} v{from_schema_version} already has one")
            self._lifts[key] = upcaster
            return upcaster

        return add

    def upcast(self, type: str, schema_version: int, payload: Payload) -> tuple[int, Payload]:
        """The newest schema version reachable from `schema_version`, and the lifted payload."""
        if not self._lifts:
            return schema_version, payload
        while (lift := self._lifts.get((type, schema_version))) is not None:
            payload = lift(payload)
            schema_version += 1
        return schema_version, payload


upcasters = Upcasters()
"""The registry the store uses unless it is given another."""

register = upcasters.register
