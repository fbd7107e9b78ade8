"""The HTML timeline shows what members answered: each round's text, and texts as stored."""

from __future__ import annotations

import re

from audit.export import html_page
from domain.roster import CHAIR
from tests.unit.domain.scenario import Scenario
from tests.unit.test_views import HIDDEN, ONE_ITEM, failed_round_then_amended, logged


def test_each_round_names_its_revision_and_an_issues_round_shows_its_resolution() -> None:
    s = failed_round_then_amended()
    s.do("plan_implementation", CHAIR, action_items=ONE_ITEM, report_back_deadline=s.later(days=90))
    s.do("raise_issue", "POL", title="Uneven contributions")
    s.do(
        "propose_issue_resolution",
        CHAIR,
        issue=1,
        text="Report quarterly.",
        deadline=s.later(days=3),
    )

    page = html_page(s.s, logged(s), [], None)

    round_one = _section(page, "round-1")
    assert '<a href="#revision-1">revision 1</a>' in round_one
    assert s.s.rounds[0].text_hash in round_one
    assert '<li id="revision-1">' in page and '<li id="revision-2">' in page
    round_three = _section(page, "round-3")
    assert '<pre class="text">Report quarterly.</pre>' in round_three
    assert s.s.rounds[2].text_hash in round_three
    assert '<a href="#round-3">round 3</a>' in page, "the issue links to the round on it"


def test_hidden_formatting_characters_are_written_out_on_the_page() -> None:
    s = Scenario().planned()
    s.do("raise_issue", "POL", title="Uneven contributions")
    s.do("propose_issue_resolution", CHAIR, issue=1, text=HIDDEN, deadline=s.later(days=3))
    reasons = "Capitals \u202eagree\u202c"
    s.do("break_silence", "RUS", round=2, text_hash=s.s.rounds[1].text_hash, reasons=reasons)

    page = html_page(s.s, logged(s), [], None)

    assert "Report \\u202equarterly\\u202c to the\\u200b Ambassadors" in page
    assert "objected: Capitals \\u202eagree\\u202c" in page
    assert not any(c in page for c in "\u202e\u202c\u200b\u2066\u2069\ufeff")


def _section(page: str, anchor: str) -> str:
    found = re.search(rf'<h3 id="{anchor}">.*?(?=<h3 |<h2>)', page, re.S)
    assert found is not None, anchor
    return found.group()
