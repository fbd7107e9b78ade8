"""The NATO-Russia Council as the seeds give it (Rome 2002, the 2004 enlargement): Concord's
default council, read from the council file that ships with it."""

from __future__ import annotations

from importlib.resources import files
from typing import Final

import yaml

from domain.council import Council
from domain.roster import Roster, RosterBook

NRC_FILE: Final = files("domain.councils").joinpath("nrc.yaml")
"""The shipped council file: the NRC's members, bodies, cadences and roster versions."""

NRC: Final[Council] = Council.model_validate(
    yaml.load(
        NRC_FILE.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )
)
"""The council Concord uses until another is imported. Its form is checked as it is read; its
consistency (cadences kept over 24 periods, rosters in order: tens of milliseconds that every
command would pay) by tests/unit/test_council_files.py, which reads the shipped file as any
council file is read."""

NRC_ROSTERS: Final[RosterBook] = NRC.roster_book()
"""The NRC's roster versions, as the procedure reads them."""

ROME_2002: Final[Roster] = NRC_ROSTERS.version(1)
ENLARGEMENT_2004: Final[Roster] = NRC_ROSTERS.version(2)
