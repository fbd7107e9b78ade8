"""Concord's data converter: pydantic's JSON for its messages, built at no cost.

The SDK builds a data converter, and with it a payload converter, two or three times for each
activation a worker handles, most of them to convert nothing (the converter that picks each
command's context). The SDK's pydantic converter makes a serializer and a cache of type
adapters each time it is built, and asks each of its parts whether it takes a serialization
context each time it is given one. Concord's payload converter writes and reads the same
payloads, with the same calls to pydantic, but makes its cache of type adapters at its first
decode, and takes no context: none of its parts uses one.
"""

from __future__ import annotations

import functools
from typing import Any, Final, Self

from pydantic import TypeAdapter
from pydantic_core import to_json
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
    SerializationContext,
)

_DEFAULTS: Final = DefaultPayloadConverter.default_encoding_payload_converters
_JSON_AT: Final = next(
    i for i, c in enumerate(_DEFAULTS) if isinstance(c, JSONPlainPayloadConverter)
)
"""Where among the SDK's default encodings its JSON converter stands, which pydantic's
replaces: found once, not at each of the converters built per activation."""

TYPE_ADAPTERS_KEPT: Final = 1024
"""Type adapters a converter keeps, the least recently used given up first (as the SDK's)."""


class PydanticJSON(EncodingPayloadConverter):
    """JSON by pydantic: `pydantic_core.to_json` out, `TypeAdapter.validate_json` in, as the
    SDK's pydantic converter (temporalio.contrib.pydantic) does with its default options."""

    encoding = "json/plain"

    def __init__(self) -> None:
        self._adapters: functools._lru_cache_wrapper[TypeAdapter[Any]] | None = None

    def to_payload(self, value: Any) -> Payload | None:
        return Payload(metadata={"encoding": b"json/plain"}, data=to_json(value))

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        hint = Any if type_hint is None else type_hint
        try:
            hash(hint)
        except TypeError:
            return TypeAdapter(hint).validate_json(payload.data)
        if self._adapters is None:
            self._adapters = functools.lru_cache(maxsize=TYPE_ADAPTERS_KEPT)(TypeAdapter)
        return self._adapters(hint).validate_json(payload.data)


class ConcordPayloadConverter(CompositePayloadConverter):
    """The SDK's default encodings, JSON by pydantic; no part takes a serialization context."""

    def __init__(self) -> None:
        converters = list(_DEFAULTS)
        converters[_JSON_AT] = PydanticJSON()
        super().__init__(*converters)

    def with_context(self, context: SerializationContext) -> Self:
        return self


DATA_CONVERTER: Final = DataConverter(payload_converter_class=ConcordPayloadConverter)
"""The data converter of every client and worker Concord makes."""
