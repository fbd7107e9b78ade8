"""A refusal that cannot be kept as evidence is reported, and the caller still gets the refusal."""

from __future__ import annotations

from typing import Any, cast

from domain.errors import Refusal, Rule
from runtime.commands import Commands
from runtime.decisions import DecisionClient
from store.side_records import RefusalRecord


async def test_a_refusal_the_side_log_cannot_hold_is_reported_not_turned_into_another_error() -> (
    None
):
    kept: list[RefusalRecord] = []

    async def record(refusal: RefusalRecord) -> None:
        kept.append(refusal)

    # Refusals never reach Temporal: the client is not needed to record them.
    commands = Commands(cast(DecisionClient, None), record)
    refusal = Refusal(Rule.WRONG_STATE, "decision d-1 is adopted")
    fields: dict[str, Any] = {"round": 1}

    await commands.refused(
        refusal,
        principal="member:RUS",
        decision_id="d-1",
        kind="concur",
        fields=fields,
        channel="api",
    )
    await commands.refused(
        refusal,
        principal="member:RUS",
        decision_id="d" * 200,
        kind="concur",
        fields=fields,
        channel="api",
    )

    assert [r.decision_id for r in kept] == ["d-1"]
