"""`concord status` shows the whole decision: the text, who said what, the plan."""

from __future__ import annotations

import pytest

from cli.views import _print_status
from domain.roster import CHAIR
from tests.unit.domain.scenario import Scenario


def test_status_shows_the_text_every_answer_and_reason_concerns_and_the_plan(
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = Scenario().round_open()
    members = s.s.rounds[0].members
    s.do("register_concern", "NOR", round=1, statement="Human rights safeguards")
    s.do(
        "break_silence",
        "RUS",
        round=1,
        text_hash=s.s.rounds[0].text_hash,
        reasons="The definition is too narrow",
    )
    s.do("close_round", CHAIR, round=1)

    _print_status(s.s)
    shown = capsys.readouterr().out

    assert s.s.current_revision.text.splitlines()[0] in shown
    assert "RUS objects: The definition is too narrow" in shown
    assert "NOR concern: Human rights safeguards" in shown
    assert "round 1 on the decision: failed" in shown
    assert len(members) > 20


def test_status_shows_the_plan_items_and_who_answers_for_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = Scenario().planned()
    s.do("complete_action_item", "RUS", item_id="A2")

    _print_status(s.s)
    shown = capsys.readouterr().out

    assert "A1 (all members): Joint threat assessment — outstanding" in shown
    assert "A2 (RUS): Exchange of information on financing — done" in shown
