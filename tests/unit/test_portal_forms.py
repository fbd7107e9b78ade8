"""The portal's forms as the pages declare them: every answer has its confirmation page, every
chair's action its place on the board, every state its tag, and a date entered in parts is one
instant in UTC or a message naming the field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import pytest
from starlette.datastructures import FormData

from api.portal import giving
from api.portal.board import APPLIES
from api.portal.i18n import Words
from api.portal.pages import STATE_TAGS
from domain.errors import Rule
from domain.values import Status
from tests.unit.domain.scenario import Scenario

CSS = Path(giving.__file__).parent / "static" / "portal.css"
TEMPLATES = Path(giving.__file__).parent / "templates"


def test_every_answer_has_its_confirmation_page_and_every_chairs_action_its_states() -> None:
    assert set(giving._CONFIRMING) == set(giving._ANSWERS)
    assert set(APPLIES) == set(giving._CHAIR)


def test_every_state_has_a_tag_of_a_colour_the_stylesheet_has() -> None:
    assert set(STATE_TAGS) == {status.value for status in Status}
    css = CSS.read_text(encoding="utf-8")
    assert all(f".govuk-tag--{colour}" in css for colour in STATE_TAGS.values())


def test_every_class_the_templates_use_is_in_the_stylesheet() -> None:
    css = CSS.read_text(encoding="utf-8")
    used = {
        name
        for page in TEMPLATES.glob("*.html")
        for classes in re.findall(r'class="([^"{]+)', page.read_text(encoding="utf-8"))
        for name in classes.split()
        if name.startswith(("govuk-", "concord-")) and not name.endswith("--")
    }
    written = {name: "." + name.replace("!", "\\!") for name in used}  # `!` escaped in CSS
    missing = {name for name in used if not re.search(rf"{re.escape(written[name])}(?![\w-])", css)}
    # Markers with no style of their own: GOV.UK Frontend's markup, and what the tests find.
    markers = {"govuk-generic-header__container", "govuk-table__head", "govuk-table__body"}
    assert missing <= markers | {"concord-agenda", "concord-moment"}


def test_a_date_entered_in_parts_is_one_instant_in_utc() -> None:
    form = FormData(
        [("deadline.day", "1"), ("deadline.month", "2"), ("deadline.year", "2099"),
         ("deadline.time", "12:30")]
    )  # fmt: skip
    assert giving._entered(form, "deadline") == "2099-02-01T12:30:00Z"
    assert giving._entered(FormData([("deadline.year", "")]), "deadline") == ""
    assert giving._entered(FormData([("reason", " x ")]), "reason") == " x "


@pytest.mark.parametrize(
    ("day", "month", "year", "time"),
    [("31", "2", "2099", "12:00"), ("1", "13", "2099", "12:00"), ("x", "1", "2099", "12:00"),
     ("1", "1", "2099", "25:00"), ("1", "1", "", "12:00")],
)  # fmt: skip
def test_a_date_that_is_no_date_is_refused_naming_its_field(
    day: str, month: str, year: str, time: str
) -> None:
    form = FormData(
        [("new_deadline.day", day), ("new_deadline.month", month), ("new_deadline.year", year),
         ("new_deadline.time", time)]
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"^new_deadline: .* is not a day, month, year and time"):
        giving._entered(form, "new_deadline")


WORDED: Final = {
    "en": "USA has already concurred in round 1.",
    "fr": "USA a déjà donné son accord au tour 1.",
    "ru": "USA уже выразил согласие в раунде 1.",
}


@pytest.mark.parametrize("language", sorted(WORDED))
def test_a_refusal_carries_its_particulars_and_a_page_words_them_in_its_language(
    language: str,
) -> None:
    s = Scenario().round_open()
    h = s.s.round(1).text_hash
    s.do("concur", "USA", round=1, text_hash=h)
    refused = s.refused(Rule.ALREADY_CONCURRED, "concur", "USA", round=1, text_hash=h)
    assert refused.params == {"member": "USA", "round": "1"}
    assert Words(language).particulars(refused.code, refused.params) == WORDED[language]


def test_a_refusal_without_a_parameter_its_wording_names_keeps_its_english_message() -> None:
    for language in ("en", "fr", "ru"):
        words = Words(language)
        assert words.particulars("already_concurred", {"round": "2"}) is None
        assert words.particulars("wrong_role", {"member": "BEL"}) is None
    # A state is named as the page's language names it, not by its code.
    assert Words("fr").particulars("wrong_state", {"status": "adopted"}) == (
        f"Son état est maintenant : {Words('fr').status('adopted')}."
    )
