"""A decision's transcript: the words its events hold that its state forgets."""

from __future__ import annotations

from domain.roster import CHAIR
from domain.statements import AnswerSignature
from domain.transcript import transcript
from tests.unit.domain.scenario import Scenario


def test_an_objection_withdrawn_keeps_its_reasons_beside_the_one_lodged_after_it() -> None:
    s = Scenario().round_open()
    text_hash = s.s.rounds[0].text_hash
    s.do("break_silence", "RUS", round=1, text_hash=text_hash, reasons="Too narrow")
    s.do("withdraw_objection", "RUS", round=1)
    s.do("break_silence", "RUS", round=1, text_hash=text_hash, reasons="Still too narrow")

    [withdrawn] = transcript(s.events).withdrawn_in(s.s.rounds[0])

    assert (withdrawn.member, withdrawn.reasons) == ("RUS", "Too narrow")
    assert s.s.rounds[0].objections == {"RUS": "Still too narrow"}


def test_each_resolution_round_keeps_the_text_it_was_opened_on() -> None:
    s = Scenario().planned()
    s.do("raise_issue", "POL", title="Uneven contributions")
    s.do("propose_issue_resolution", CHAIR, issue=1, text="Quarterly", deadline=s.later(days=3))
    s.do("break_silence", "RUS", round=2, text_hash=s.s.rounds[1].text_hash, reasons="No")
    s.do("close_round", CHAIR, round=2)
    s.do("propose_issue_resolution", CHAIR, issue=1, text="Yearly", deadline=s.later(days=3))

    record = transcript(s.events)

    assert [record.text_of(s.s, r) for r in s.s.rounds] == [
        s.s.revisions[0].text,
        "Quarterly",
        "Yearly",
    ]


def test_each_answer_says_whether_it_was_signed_and_who_recorded_it_for_another() -> None:
    """An answer the secretariat recorded in a member's name without the member's key is never
    shown as the member's own word: its mark says so, wherever answers are listed."""
    s = Scenario().round_open()
    text_hash = s.s.rounds[0].text_hash
    signature = AnswerSignature(
        key_id="ed25519:" + "0" * 16,
        claimed_at="2004-12-01T09:00:00Z",
        command_key="k",
        signature="A" * 86,
    )
    signed = s.command("concur", "RUS", round=1, text_hash=text_hash)
    s.execute(signed.model_copy(update={"signature": signature}))
    s.do("concur", "NOR", "operator:secretariat", round=1, text_hash=text_hash)
    s.do("concur", "USA", round=1, text_hash=text_hash)

    record = transcript(s.events)
    marks = {m: record.answer(1, m, "ConcurrenceRecorded") for m in ("RUS", "NOR", "USA")}
    assert {m: a.mark() if a else None for m, a in marks.items()} == {
        "RUS": "signed",
        "NOR": "unsigned, recorded by operator:secretariat",
        "USA": "",
    }
    assert record.answer(1, "USA", "SilenceBroken") is None


def test_an_answer_signed_by_a_key_on_the_chairs_authority_says_so() -> None:
    s = Scenario().round_open()
    signature = AnswerSignature(
        key_id="ed25519:" + "1" * 16,
        claimed_at="2004-12-01T09:00:00Z",
        command_key="k",
        signature="A" * 86,
    )
    command = s.command("concur", "RUS", round=1, text_hash=s.s.rounds[0].text_hash)
    s.execute(command.model_copy(update={"signature": signature}))
    given = transcript(s.events, flagged={signature.key_id}).answer(1, "RUS", "ConcurrenceRecorded")
    assert given is not None and given.mark() == "signed, by a key on the chair's authority"
