"""The API answers with its own receipt types: every field the worker's receipt carries, named
and valued as it is, described for clients, and nothing of Temporal's message types."""

from __future__ import annotations

from fastapi import FastAPI

from api.commands import router
from api.receipts import Receipt, SupersessionResult
from workflows import messages

GIVEN = messages.Receipt(
    decision_id="d-1",
    idempotency_key="member:POL/k-1",
    event_ids=("00000000-0000-5000-8000-000000000001",),
    event_types=("ConcurrenceRecorded",),
    stream_version=7,
    hashes=("a" * 64,),
    command_digest="b" * 64,
)


def test_the_apis_receipt_holds_every_field_of_the_workers_as_it_is() -> None:
    assert set(Receipt.model_fields) == set(messages.Receipt.model_fields)
    assert Receipt.of(GIVEN).model_dump() == GIVEN.model_dump()
    both = messages.SupersessionResult(superseded=GIVEN, successor=GIVEN)
    assert SupersessionResult.of(both).model_dump() == both.model_dump()


def test_every_command_route_answers_the_apis_receipt_each_field_described() -> None:
    app = FastAPI()
    app.include_router(router())
    document = app.openapi()
    schemas = document["components"]["schemas"]
    described = schemas["Receipt"]["properties"]
    assert set(described) == set(Receipt.model_fields)
    assert all(field.get("description") for field in described.values()), described
    answers = [
        operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
        for path in document["paths"].values()
        for method, operation in path.items()
        if method == "post" and "201" in operation["responses"]
    ]
    assert answers and set(answers) <= {
        "#/components/schemas/Receipt",
        "#/components/schemas/SupersessionResult",
    }, answers
