"""Every answer a member's key signs is recorded with its signature, and the statement rebuilt
from the recorded event alone is the one the member signed, byte for byte: what a verifier
needs, for each of the seven answers. An answer whose record would differ from what was signed
is refused, naming the field."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from audit.signing import MemberKey, verify
from domain.commands import MemberAnswer
from domain.declarations import DECLARED
from domain.errors import InvalidInput, Rule
from domain.events import event_payload
from domain.keys import answer_to_sign, signed_answer
from domain.nrc import NRC
from domain.roster import SignedAnswer
from tests.unit.domain.scenario import Scenario

ORIGIN = "nrc.example/concord"


def _state_for(kind: str) -> tuple[Scenario, dict[str, Any]]:
    """A decision in which RUS may give `kind`, and the fields RUS gives it with."""
    s = Scenario()
    if kind in {"report_progress", "raise_issue"}:
        s.planned()
        if kind == "report_progress":
            return s, {"item_id": "A1", "summary": "Data exchanged"}
        return s, {"title": "Data exchange delayed", "description": "Two months late"}
    if kind == "request_meeting":
        return s.proposed(), {"level": "ambassadors", "reason": "Urgent threat"}
    s.round_open()
    text_hash = s.s.round(1).text_hash
    if kind == "withdraw_objection":
        s.do("break_silence", "RUS", round=1, text_hash=text_hash, reasons="Too narrow")
        return s, {"round": 1}
    return s, {
        "concur": {"round": 1, "text_hash": text_hash},
        "break_silence": {"round": 1, "text_hash": text_hash, "reasons": "Too narrow"},
        "register_concern": {"round": 1, "statement": "Human rights safeguards"},
    }[kind]


SIGNED = [d.kind for d in DECLARED if d.signed is not None]


def test_the_seven_answers_of_the_issue_are_the_ones_a_key_signs() -> None:
    assert sorted(SIGNED) == sorted(get_args(SignedAnswer))  # what a council file may require
    assert sorted(SIGNED) == sorted(
        [
            "concur",
            "break_silence",
            "withdraw_objection",
            "register_concern",
            "report_progress",
            "raise_issue",
            "request_meeting",
        ]
    )


@pytest.mark.parametrize("kind", SIGNED)
def test_a_signed_answers_event_rebuilds_the_statement_its_member_signed(kind: str) -> None:
    s, fields = _state_for(kind)
    key = MemberKey.generate("RUS")
    command = s.command(kind, "RUS", **fields)
    assert isinstance(command, MemberAnswer)
    signed = key.sign_answer(command, ORIGIN, "cli-7")
    events = s.execute(signed)

    [answer] = [e for e in events if getattr(e, "signature", None) is not None]
    assert answer.signature == signed.signature
    found = signed_answer(ORIGIN, answer)
    assert found is not None
    statement, signature = found
    assert signature.signature is not None
    expected = answer_to_sign(ORIGIN, command, key.key_id, "cli-7", signature.claimed_at)
    assert statement.signed_bytes() == expected.signed_bytes()
    assert verify(key.public_key, statement.signed_bytes(), signature.signature)
    assert statement.fields == {k: v for k, v in fields.items() if v is not None}


def test_a_signed_meeting_request_names_its_level_or_is_refused() -> None:
    """The level a request leaves out is the procedure's choice, recorded in its event: the
    member signed no level, so the record would say more than the member did."""
    s = Scenario().proposed()
    command = s.command("request_meeting", "RUS", reason="Urgent threat")
    signed = MemberKey.generate("RUS").sign_answer(command, ORIGIN, "k")
    with pytest.raises(InvalidInput) as refused:
        s.execute(signed)
    assert refused.value.field == "signature" and "level" in refused.value.message
    assert s.events[-1].type == "ProposalSubmitted"


def test_a_key_signs_for_its_own_member_only() -> None:
    s = Scenario().round_open()
    command = s.command("concur", "NOR", round=1, text_hash=s.s.round(1).text_hash)
    with pytest.raises(InvalidInput, match="RUS's; it cannot sign for NOR"):
        MemberKey.generate("RUS").sign_answer(command, ORIGIN, "k")


def test_an_unsigned_answer_is_recorded_without_a_signature_and_stored_as_before() -> None:
    """Events of answers stored before answers were signed keep their bytes: a None signature
    is left out of the payload (added_fields)."""
    s = Scenario().round_open()
    [event] = s.do("concur", "RUS", round=1, text_hash=s.s.round(1).text_hash)
    assert "signature" not in event_payload(event)


def test_an_answer_a_council_requires_signed_is_refused_unsigned_even_from_the_secretariat() -> (
    None
):
    council = NRC.model_copy(update={"signed_answers": ("concur",)})
    s = Scenario(rosters=council.roster_book()).round_open()
    text_hash = s.s.round(1).text_hash
    for principal in ("member:RUS", "operator:secretariat"):
        refused = s.refused(
            Rule.SIGNATURE_REQUIRED, "concur", "RUS", principal, round=1, text_hash=text_hash
        )
        assert "requires a concur to be signed" in refused.message
    signed = MemberKey.generate("RUS").sign_answer(
        s.command("concur", "RUS", round=1, text_hash=text_hash), ORIGIN, "k"
    )
    [event] = s.execute(signed)
    assert event.type == "ConcurrenceRecorded"
    # An answer the council does not require signed is still taken unsigned.
    s.do("register_concern", "NOR", round=1, statement="Human rights safeguards")
