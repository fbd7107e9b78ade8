"""A refusal is worded in its reader's language: every rule has a wording of its particulars,
every place that refuses by a rule gives each particular that wording names, and every wording
is said in French and Russian with the particulars it names."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

import pytest

from api.portal.i18n import PARTICULARS, Words, wordings
from domain.errors import Rule
from domain.nrc import NRC
from domain.roster import CHAIR
from tests.unit.domain.scenario import Scenario

ROOT: Final = Path(__file__).parents[2]
PLACEHOLDER: Final = re.compile(r"%\((\w+)\)s")
NOT_SOURCES: Final = {"tests", "node_modules"}
"""What under the project's root is not its source: tests, and what tools install."""


@dataclass(frozen=True)
class Refusing:
    """One call `Refusal(Rule.X, message, **particulars)` in the project's source."""

    path: str
    line: int
    function: str
    call: ast.Call

    @property
    def rule(self) -> str | None:
        """The rule's member name when the call names it as `Rule.X`, else None."""
        first = self.call.args[0] if self.call.args else None
        if (
            isinstance(first, ast.Attribute)
            and isinstance(first.value, ast.Name)
            and first.value.id == "Rule"
        ):
            return first.attr
        return None

    @property
    def particulars(self) -> set[str]:
        return {keyword.arg for keyword in self.call.keywords if keyword.arg is not None}

    @property
    def unpacks(self) -> bool:
        """Whether the call passes something no reading of its source can name (`**`, `*`)."""
        return any(k.arg is None for k in self.call.keywords) or any(
            isinstance(a, ast.Starred) for a in self.call.args
        )

    def __str__(self) -> str:
        return f"{self.path}:{self.line} ({self.function})"


def sources() -> Iterator[Path]:
    for top in sorted(ROOT.iterdir()):
        if top.name.startswith(".") or top.name in NOT_SOURCES or top.suffix == ".egg-info":
            continue
        if top.is_dir():
            yield from (p for p in sorted(top.rglob("*.py")) if NOT_SOURCES.isdisjoint(p.parts))
        elif top.suffix == ".py":
            yield top


class _Finder(ast.NodeVisitor):
    def __init__(self, path: str) -> None:
        self.path = path
        self.within: list[str] = ["<module>"]
        self.found: list[Refusing] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.within.append(node.name)
        self.generic_visit(node)
        self.within.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        called = node.func
        name = called.id if isinstance(called, ast.Name) else getattr(called, "attr", None)
        if name == "Refusal":
            self.found.append(Refusing(self.path, node.lineno, self.within[-1], node))
        self.generic_visit(node)


def refusals() -> list[Refusing]:
    found: list[Refusing] = []
    for path in sources():
        finder = _Finder(path.relative_to(ROOT).as_posix())
        finder.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found.extend(finder.found)
    return found


REFUSALS: Final = refusals()


def named(wording: str) -> set[str]:
    """The particulars `wording` names."""
    return set(PLACEHOLDER.findall(wording))


def test_every_rule_has_a_wording_of_its_particulars() -> None:
    assert set(PARTICULARS) == {rule.value for rule in Rule}
    for code in PARTICULARS:
        assert wordings(code), f"{code} has no wording"
        for wording in wordings(code):
            assert named(wording), f"{code}: {wording!r} names no particular"


def test_every_rule_is_refused_somewhere_and_every_refusal_names_its_rule_plainly() -> None:
    assert {r.rule for r in REFUSALS} == {rule.name for rule in Rule}
    unreadable = [str(r) for r in REFUSALS if r.rule is None or r.unpacks]
    assert not unreadable, f"refusals whose rule or particulars cannot be read: {unreadable}"


def test_every_refusal_gives_each_particular_one_of_its_rules_wordings_names() -> None:
    lacking = [
        f"{r}: Rule.{r.rule} gives {sorted(r.particulars)}, which no wording of its rule takes: "
        + "; ".join(repr(w) for w in wordings(Rule[r.rule].value))
        for r in REFUSALS
        if r.rule is not None
        and not any(named(w) <= r.particulars for w in wordings(Rule[r.rule].value))
    ]
    assert not lacking, "\n".join(lacking)


def test_a_refusal_is_worded_by_the_first_wording_whose_particulars_it_carries() -> None:
    words = Words("fr")
    assert words.particulars("not_on_roster", {"member": "BEL"}) == (
        "BEL ne figure pas dans la composition qui s\u2019applique ici."
    )
    assert words.particulars("not_on_roster", {"body": "NRC-PC", "version": "2"}) == (
        "NRC-PC n\u2019a aucun membre dans la version 2 de la composition."
    )
    assert words.particulars("not_on_roster", {"version": "2"}) is None
    assert words.particulars("no_such_rule", {"member": "BEL"}) is None


@pytest.mark.parametrize("language", ["fr", "ru"])
@pytest.mark.parametrize("code", sorted(PARTICULARS))
def test_every_wording_is_said_in_each_language_with_the_particulars_it_names(
    code: str, language: str
) -> None:
    for wording in wordings(code):
        given = {name: f"<{name}>" for name in named(wording)}
        said = Words(language)(wording, **given)
        assert said != wording, f"{code}: {wording!r} is not translated"
        assert named(Words(language).gettext(wording)) == named(wording), wording
        for value in given.values():
            assert value in said


@pytest.mark.parametrize(
    ("language", "worded"),
    [
        ("en", "A silence procedure of NRC-AMB lasts at least 1 day."),
        ("fr", "Une procédure de silence de NRC-AMB dure au moins 1 jour."),
        ("ru", "Минимальная продолжительность процедуры молчания для NRC-AMB — 1 день."),
    ],
)
def test_a_minimum_silence_is_said_in_the_pages_units(language: str, worded: str) -> None:
    s = Scenario(
        rosters=NRC.model_copy(update={"minimum_silence": timedelta(days=1)}).roster_book()
    )
    s.forwarded()
    refused = s.refused(Rule.SILENCE_TOO_SHORT, "open_round", CHAIR, deadline=s.later(hours=2))
    assert refused.params["minimum"] == "P1D"
    assert Words(language).particulars(refused.code, refused.params) == worded


def test_an_instant_is_said_as_the_pages_language_says_a_date() -> None:
    s = Scenario().round_open(days=2)
    deadline = s.s.round(1).deadline
    refused = s.refused(Rule.NO_STANDING_OBJECTION, "close_round", CHAIR, round=1)
    assert refused.params == {"round": "1", "deadline": deadline.isoformat()}
    said = Words("fr").particulars(refused.code, refused.params)
    assert said is not None and said.endswith(
        f"clos par le silence le {Words('fr').when(deadline)}."
    )
    # A particular that is no instant is shown as given rather than refused.
    assert Words("fr").particulars("report_received", {"received": "soon"}) == (
        "Le rapport a été reçu le soon."
    )
