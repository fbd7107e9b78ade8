"""The test council: the NATO-Russia Council as shipped, but with no minimum silence period, so
that rounds of seconds close while a test waits (the shipped file gives capitals a day)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from domain.council import Council
from domain.nrc import NRC
from domain.roster import RosterBook
from runtime.council_files import council_document

TEST_COUNCIL: Final[Council] = NRC.without_minimum_silence()
TEST_ROSTERS: Final[RosterBook] = TEST_COUNCIL.roster_book()


async def testing_rosters() -> RosterBook:
    """The test council's roster book, for a DecisionClient's `rosters`."""
    return TEST_ROSTERS


def testing_council_file(directory: Path) -> Path:
    """The test council written as a council file in `directory`, to import."""
    path = directory / "nrc-test.yaml"
    path.write_text(council_document(TEST_COUNCIL), encoding="utf-8")
    return path
