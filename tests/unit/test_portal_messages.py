"""The portal's catalogues: up to date with the messages its pages and code say, every message
translated into French and Russian, with the same placeholders."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).parents[2]
LOCALES = ROOT / "api" / "portal" / "locales"
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def catalog(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_po(source)


def ids(found: Catalog) -> set[object]:
    return {message.id for message in found if message.id}


def test_the_template_holds_every_message_the_portal_says(tmp_path: Path) -> None:
    extracted = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "api/portal/babel.cfg",
            "-k",
            "N_",
            "--no-location",
            "--omit-header",
            "--sort-output",
            "-o",
            str(extracted),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert ids(catalog(extracted)) == ids(catalog(LOCALES / "messages.pot")), (
        "run `make messages` and translate what it adds"
    )


@pytest.mark.parametrize("language", ["fr", "ru"])
def test_every_message_is_translated_with_its_placeholders(language: str) -> None:
    translated = catalog(LOCALES / f"{language}.po")
    assert ids(translated) == ids(catalog(LOCALES / "messages.pot"))
    for message in translated:
        if not message.id:
            continue
        sources = [str(s) for s in (message.id if isinstance(message.id, tuple) else [message.id])]
        given = message.string if isinstance(message.string, tuple) else [message.string]
        strings = [str(s or "") for s in given]
        assert all(strings), f"{message.id!r} has no {language} translation"
        wanted = set(PLACEHOLDER.findall(sources[0]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, (message.id, string)


def test_every_rule_of_the_procedure_is_worded_for_the_refusal_page() -> None:
    from api.portal.i18n import RULES
    from domain.errors import Rule

    assert set(RULES) == {rule.value for rule in Rule}
