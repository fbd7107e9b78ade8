"""Council files on disk: read and check one (every problem at its line), write a council as
YAML, the documented starter file, and the JSON Schema of the format."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from domain.council import Council, CouncilFileInvalid, Location, checked_council, where_text
from domain.errors import InvalidInput

SCHEMA_PATH: Final = "docs/council.schema.json"
"""Where the JSON Schema of council files is kept, from the repository's root."""


@dataclass(frozen=True)
class FileProblem:
    """One problem of a council file: the file as it was named, the line (1-based) and the
    place in the document (`bodies[2].members[0]`, empty for the file as a whole)."""

    file: str
    line: int
    location: Location
    message: str

    @property
    def where(self) -> str:
        return where_text(self.location) if self.location else ""

    def text(self) -> str:
        """`nordic.yaml:12 bodies[2].members[0]: unknown member XXX: ...`"""
        where = f" {self.where}" if self.where else ""
        return f"{self.file}:{self.line}{where}: {self.message}"


class CouncilFileInvalidAtLines(CouncilFileInvalid):
    """A council file with problems, every one of them at its line of the file."""

    def __init__(self, file: str, problems: Sequence[FileProblem]) -> None:
        self.file = file
        self.file_problems = tuple(sorted(problems, key=lambda p: p.line))
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        # The domain's message names places only; a file's reader names lines as well.
        InvalidInput.__init__(
            self, file, f"{count}: " + "; ".join(p.text() for p in self.file_problems)
        )
        self.problems = [(p.location, p.message) for p in self.file_problems]


class _CouncilLoader(yaml.SafeLoader):
    """YAML's safe loader, but dates stay text: pydantic reads them, so an impossible date
    (2002-02-30) is a problem at its place in the file, not a crash of the reader."""


def _date_as_text(loader: _CouncilLoader, node: ScalarNode) -> str:
    return loader.construct_scalar(node)


_CouncilLoader.add_constructor("tag:yaml.org,2002:timestamp", _date_as_text)


def read_council_file(path: Path) -> Council:
    """The council the YAML file at `path` describes. InvalidInput names the path when it
    cannot be read; CouncilFileInvalidAtLines lists every problem, each at its line."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(file, "no such file") from None
    except IsADirectoryError:
        raise InvalidInput(file, "a directory, not a council file") from None
    except UnicodeDecodeError as error:
        raise InvalidInput(file, f"not UTF-8 text: {error.reason}") from None
    except OSError as error:
        raise InvalidInput(file, f"cannot read it: {error.strerror or error}") from None
    return council_from_text(text, file)


def council_from_text(text: str, file: str) -> Council:
    """The council YAML `text` describes; `file` names it in CouncilFileInvalidAtLines."""
    root, document = _parsed(text, file)
    if root is None:
        raise _one_problem(
            file, 1, "empty: a council file holds code, name, members, bodies, rosters"
        )
    if not isinstance(root, MappingNode):
        raise _one_problem(
            file,
            _line(root),
            "a council file is a mapping of keys (code, name, members, bodies, rosters), "
            f"not a {'list' if isinstance(root, SequenceNode) else 'single value'}",
        )
    problems = [
        FileProblem(file, line, location, message)
        for location, line, message in _duplicate_keys(root, (), set())
    ]
    try:
        council = checked_council(document)
    except CouncilFileInvalid as invalid:
        problems += [
            FileProblem(file, line_of(root, location), location, message)
            for location, message in invalid.problems
        ]
    if problems:
        raise CouncilFileInvalidAtLines(file, problems)
    return council


def _one_problem(file: str, line: int, message: str) -> CouncilFileInvalidAtLines:
    return CouncilFileInvalidAtLines(file, [FileProblem(file, line, (), message)])


def _parsed(text: str, file: str) -> tuple[Node | None, Any]:
    """The node tree of `text` and the plain document built from that same tree."""
    try:
        loader = _CouncilLoader(text)
    except ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise _one_problem(file, line, f"not YAML: {error.reason}") from None
    try:
        root = loader.get_single_node()
        # Built from the tree just composed: the places looked up later are those of the
        # very nodes the document was made of.
        return root, (loader.construct_document(root) if root is not None else None)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = error.problem or "unreadable"
        if error.context and error.context_mark is not None:
            problem = f"{error.context} on line {error.context_mark.line + 1}, {problem}"
        raise _one_problem(file, line, f"not YAML: {problem}") from None
    except (yaml.YAMLError, ValueError) as error:
        raise _one_problem(file, 1, f"not YAML: {error}") from None
    finally:
        loader.dispose()


def line_of(root: Node, location: Location) -> int:
    """The line (1-based) where `location` is written, or, when its last keys are missing
    from the file, the line of the nearest part of it that is there."""
    node, line = root, _line(root)
    for part in location:
        found = _child(node, part)
        if found is None:
            break
        # A key's own line, not its value's: a block value starts on the line below.
        marker, node = found
        line = _line(marker)
    return line


def _child(node: Node, part: str | int) -> tuple[Node, Node] | None:
    """The node that names `part` (a key, or the item itself) and the value it leads to."""
    if isinstance(part, int) and isinstance(node, SequenceNode):
        items: list[Node] = node.value
        return (items[part], items[part]) if 0 <= part < len(items) else None
    if isinstance(part, str) and isinstance(node, MappingNode):
        pairs: list[tuple[Node, Node]] = node.value
        # Of equal keys, YAML keeps the last.
        for key, value in reversed(pairs):
            if isinstance(key, ScalarNode) and key.value == part:
                return key, value
    return None


def _duplicate_keys(
    node: Node, location: Location, seen_nodes: set[int]
) -> Iterator[tuple[Location, int, str]]:
    """Keys given twice in one mapping: YAML keeps the last silently, a council file may not."""
    if id(node) in seen_nodes:  # an alias of a node already walked (perhaps its own parent)
        return
    seen_nodes.add(id(node))
    if isinstance(node, MappingNode):
        first_lines: dict[str, int] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode) or key.value == "<<":
                continue
            name = str(key.value)
            if name in first_lines:
                message = f"key {name} given twice (first on line {first_lines[name]})"
                yield (*location, name), _line(key), message
            first_lines.setdefault(name, _line(key))
            yield from _duplicate_keys(value, (*location, name), seen_nodes)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*location, i), seen_nodes)


def _line(node: Node) -> int:
    return node.start_mark.line + 1 if node.start_mark is not None else 1


def council_document(council: Council) -> str:
    """The council as a council file (YAML) that reads back as the same council."""
    header = (
        f"# Council {council.code} as Concord holds it. Schema: {SCHEMA_PATH}.\n"
        "# Check a change with `concord council validate FILE`.\n"
    )
    body = yaml.safe_dump(
        council.model_dump(mode="json", exclude_none=True),
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return header + body


def council_schema() -> str:
    """The JSON Schema of a council file, as kept in `docs/council.schema.json`."""
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **Council.model_json_schema(),
    }
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


COUNCIL_TEMPLATE: Final = """\
# A council file for Concord: who decides, in which bodies, how often they sit, and who sat
# when. Check it with `concord council validate FILE`; its JSON Schema is
# docs/council.schema.json, and the NATO-Russia Council (domain/councils/nrc.yaml) is a
# fuller example. Codes are capital letters; dates are YYYY-MM-DD.

# The council's code: 2 to 32 capital letters, digits or hyphens, starting with a letter.
code: NORDIC
# Its name, as documents and the portal show it.
name: Nordic Cooperation Council

# The chair convenes sittings and records outcomes; it is not a member and cannot block
# consensus.
chair:
  # How documents name the chair.
  title: Secretary General

# Every state that has ever sat, once each, as equal partners acting in their national
# capacity: `code` is the ISO 3166-1 alpha-3 code, `name` the state's name. Who sits when
# is set by the roster versions below.
members:
  - {code: DNK, name: Kingdom of Denmark}
  - {code: FIN, name: Republic of Finland}
  - {code: ISL, name: Iceland}
  - {code: NOR, name: Kingdom of Norway}
  - {code: SWE, name: Kingdom of Sweden}

# The shortest silence procedure: a round's deadline is at least this long after its opening,
# to give capitals time to answer (ISO 8601 duration; none when left out). A body may set its
# own `minimum_silence`, as the preparatory committee does below.
minimum_silence: P1D

# The answers each member must sign with its own key (`concord keys`): any of concur,
# break_silence, withdraw_objection, register_concern, report_progress, raise_issue and
# request_meeting, e.g. [concur, break_silence]. An unsigned one is refused, even from the
# secretariat. Empty (or left out), signing stays each member's choice.
signed_answers: []

# The areas in which the members cooperate: a decision names one (`concord propose --area`).
# Every council also has the area `other`, whose decisions carry a label. Leave the list out
# and the council has the NATO-Russia Council's areas.
areas:
  - {code: search_and_rescue, name: Search and rescue}
  - {code: civil_emergencies, name: Civil emergencies}

# The levels at which the council itself sits: each council body below sits at one of them,
# and a council body sits at each. Leave the list out and the council has the NATO-Russia
# Council's levels.
levels:
  - {code: ambassadors, name: Ambassadors}

# The bodies that sit: the council itself at one or more levels, at most one preparatory
# committee (without one, the chair reviews proposals), and any working groups. At least one
# council or working group takes decisions.
bodies:
  # Each body's code: its own, not a member's (same form as the council's code).
  - code: NORDIC-AMB
    # Its name.
    name: Council at the level of Ambassadors
    # council, preparatory_committee or working_group.
    kind: council
    # Only a council body has a level: one of the council's levels above.
    level: ambassadors
    # `all`: every member of the roster in force; or a list of members' codes.
    members: all
    # When it sits. Leave the cadence out and the body sits ad hoc.
    cadence:
      # Its regular sittings: an RFC 5545 RRULE in UTC, without DTSTART; it counts from the
      # first roster's effective_from, or from `counted_from` when given (below). Here: the
      # first Thursday of every month at 10:00.
      rule: "FREQ=MONTHLY;BYDAY=1TH;BYHOUR=10"
      # The day (YYYY-MM-DD) the rule counts from, when not the first roster's: a two-yearly
      # rule (FREQ=YEARLY;INTERVAL=2) sits in the years counted from it.
      counted_from: 2025-01-02
      # The minimum it must keep: `sittings` in every calendar `per` (week, month,
      # quarter or year). The rule is checked against it.
      at_least: {sittings: 1, per: month}
      # An extraordinary sitting requested by a member or the chair is held this soon
      # (ISO 8601 duration; P2D, two days, when left out).
      extraordinary_within: P2D

  # The preparatory committee reviews proposals before a deciding body takes them up.
  - code: PC
    name: Preparatory Committee
    kind: preparatory_committee
    members: all
    minimum_silence: PT12H
    cadence:
      # Twice a month: the second and fourth Wednesdays at 10:00.
      rule: "FREQ=MONTHLY;BYDAY=2WE,4WE;BYHOUR=10"
      at_least: {sittings: 2, per: month}

  # A working group of three members, sitting ad hoc: no cadence.
  - code: WG-ARCTIC
    name: Working Group on Arctic Search and Rescue
    kind: working_group
    members: [DNK, ISL, NOR]

# Who sits when. A change of membership is a new version, numbered 1, 2, 3, ...; each is in
# force from its effective_from (00:00 UTC) until the next version takes effect.
rosters:
  # The version's number.
  - version: 1
    # The day it takes effect; every cadence counts from the first version's.
    effective_from: 2025-01-01
    # Optional, to end a version before the next one (or for good) -- effective_until:
    # the first day it is no longer in force, on or before the next version's effective_from.
    # The members' codes that sit on it: each one listed under `members` above.
    members: [DNK, FIN, ISL, NOR, SWE]
"""
"""What `concord council init` writes: a documented council of five Nordic states that
validates as it stands."""


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m runtime.council_files --schema`: print the JSON Schema of council files."""
    parser = argparse.ArgumentParser(prog="python -m runtime.council_files")
    parser.add_argument(
        "--schema", action="store_true", help=f"print the JSON Schema kept in {SCHEMA_PATH}"
    )
    arguments = parser.parse_args(argv)
    if not arguments.schema:
        parser.print_usage(sys.stderr)
        return 2
    sys.stdout.write(council_schema())
    return 0


if __name__ == "__main__":
    sys.exit(main())
