"""Hostile values for every kind of field: strings (megabytes, control characters, lone
surrogates, paths, confusables), numbers (huge, NaN, infinite), instants at and past the ends of
the calendar, wrong shapes and structures nested ten thousand deep. Shared by the unit tests of
commands and bodies and the e2e test of the API."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from domain.commands import Command, CommandBase
from domain.roster import CHAIR
from domain.values import text_hash
from tests.unit.domain.scenario import TEXT


def nested(depth: int, mapping: bool) -> Any:
    """A string inside `depth` lists (or objects): JSON parsers and printers recurse on it."""
    value: Any = "x"
    for _ in range(depth):
        value = {"x": value} if mapping else [value]
    return value


DEEP_LIST: Any = nested(10_000, mapping=False)
DEEP_DICT: Any = nested(10_000, mapping=True)
MEGABYTES = "a" * 3_000_000

INSTANTS = (
    "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999-14:00",  # after year 9999 in UTC
    "9999-12-31T23:59:59Z",
    "10000-01-01T00:00:00Z",
    "2999-12-31T23:59:59Z",
    "2999-12-31T23:59:59.000001Z",
    "3000-01-01T00:00:00+23:59",
    "2004-02-30T00:00:00Z",
    "2004-12-01T09:00:00",  # no timezone
    "2004-12-01T09:00:00+24:00",
    "0001-01-01",
    "9999-12-31",
    "-0001-01-01T00:00:00Z",
    "1e400",
    "P1D",
)
STRINGS = (
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x1b[2J\x1b[31mred",
    "\x07\x08\x7f",
    "\u0085\u009b",
    "line\nbreak",
    "tab\there",
    "\u2028\u2029",
    "\ufeff",
    "\ud800",
    "x\udfffy",
    "\udcff\udcfe",  # invalid UTF-8 bytes as the CLI receives them (surrogateescape)
    "../x",
    "a/b",
    "a\\b",
    "/etc/passwd",
    "..",
    "\u0420\u041eL",  # POL with a Cyrillic Er and O
    "\uff30\uff2f\uff2c",  # POL in fullwidth letters
    "POL\u200b",
    "P\u0301OL",
    "pol",
    "ﬁ",
    "\u202eLOP",
    "sha256:" + "0" * 63 + "Z",
    "meeting.pc-../x",
    MEGABYTES,
    "\x00" * 100_000,
)
NUMBERS = (
    0,
    -1,
    1,
    10_001,
    2**53,
    2**63,
    2**64 + 1,
    10**400,
    -(10**400),
    True,
    False,
    float("nan"),
    float("inf"),
    float("-inf"),
    1.5,
    -0.0,
    1e308,
    253402300800,  # 10000-01-01 as a Unix timestamp
    -62135596801,  # before year 1
)
SHAPES: tuple[Any, ...] = (
    None,
    [],
    {},
    [None],
    ["POL"],
    {"kind": "member"},
    b"\xff\xfe",
    b"\x00",
    b"abc",
    bytearray(b"abc"),
    DEEP_LIST,
    DEEP_DICT,
    [DEEP_LIST],
    {"kind": DEEP_LIST},
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
    datetime(2004, 12, 1),
    date(1, 1, 1),
    date(9999, 12, 31),
    timedelta(days=999_999_999),
)
FIXED: tuple[Any, ...] = (*INSTANTS, *STRINGS, *NUMBERS, *SHAPES)
"""Every listed value: each unit test tries them all in every field."""
REPEATED = ("a", "\x00", "é", "\ud800", " ", "\n")
"""Characters a generated string repeats, up to beyond the longest field (a text, 200,000)."""

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
_offsets = st.timedeltas(
    min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
)
_aware = st.builds(
    lambda moment, offset: moment.replace(tzinfo=timezone(offset)),
    st.datetimes(),
    _offsets,
)


HOSTILE: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(FIXED),
    st.text(st.characters(exclude_categories=()), max_size=40),  # surrogates included
    st.builds(str.__mul__, st.sampled_from(REPEATED), st.integers(0, 300_000)),
    st.binary(max_size=20),
    st.integers(),
    st.floats(),
    _aware,
    _aware.map(datetime.isoformat),
    st.datetimes(),
    st.dates().map(date.isoformat),
    _json,
    st.builds(nested, st.integers(900, 10_000), st.booleans()),
)
"""A value no field expects, or one at the edge of what a field accepts."""


# --- one valid command of each kind, to spoil one field at a time ---------------------------

DECISION = "d-terrorism"
ITEM = {
    "item_id": "A9",
    "description": "Exchange of liaison officers",
    "assignee": {"kind": "member", "code": "RUS"},
    "due": "2005-03-01T00:00:00+03:00",
}
CLOCK = "system:clock"


@dataclass(frozen=True)
class Case:
    """A command of one kind, valid and accepted: the stage of the decision it is given at, by
    whom, its fields, and how long after the stage's last step."""

    stage: str
    actor: str
    fields: dict[str, Any]
    recorded_by: str | None = None
    after: timedelta = timedelta(0)

    def payload(self, kind: str) -> dict[str, Any]:
        recorded_by = self.recorded_by or (
            f"member:{self.actor}" if self.actor.isupper() else "operator:secretariat"
        )
        return {
            "kind": kind,
            "decision_id": DECISION,
            "actor": self.actor,
            "recorded_by": recorded_by,
            **self.fields,
        }


ROUND_HASH = text_hash(TEXT)
CASES: dict[str, Case] = {
    "submit_proposal": Case(
        "none",
        "POL",
        {
            "title": "Action Plan on Terrorism",
            "text": "The NRC rejects terrorism in all its manifestations.",
            "area": "other",
            "area_label": "Terrorism",
            "level": "ambassadors",
            "roster_on": "2004-06-01",
            "plan_draft": [ITEM],
            "max_failed_rounds": 3,
            "review_period_seconds": 86_400,
        },
    ),
    "refer": Case("proposed", CHAIR, {"review_deadline": "2005-01-01T00:00:00Z"}),
    "amend": Case("proposed", "POL", {"text": "An amended text.", "note": "Comments taken"}),
    "complete_review": Case(
        "in_review", CHAIR, {"outcome": "amend", "text": "Amended.", "reasons": "Clearer"}
    ),
    "open_round": Case(
        "forwarded",
        CHAIR,
        {"deadline": "2005-01-01T00:00:00+01:00", "reminder_before_seconds": 86_400},
    ),
    "concur": Case("round_open", "RUS", {"round": 1, "text_hash": ROUND_HASH}),
    "break_silence": Case(
        "round_open", "RUS", {"round": 1, "text_hash": ROUND_HASH, "reasons": "Too narrow"}
    ),
    "withdraw_objection": Case("objected", "RUS", {"round": 1}),
    "register_concern": Case("round_open", "NOR", {"round": 1, "statement": "Human rights"}),
    "extend_deadline": Case(
        "round_open",
        CHAIR,
        {
            "target": "round",
            "round": 1,
            "new_deadline": "2005-02-01T00:00:00Z",
            "reason": "Capitals need time",
        },
    ),
    "close_round": Case("objected", CHAIR, {"round": 1}),
    "send_reminders": Case(
        "round_open",
        "system",
        {"target": "round", "round": 1},
        recorded_by=CLOCK,
        after=timedelta(days=6, hours=12),
    ),
    "flag_missed_deadline": Case(
        "in_review", "system", {"target": "review"}, recorded_by=CLOCK, after=timedelta(days=15)
    ),
    "plan_implementation": Case(
        "adopted",
        CHAIR,
        {
            "action_items": [ITEM],
            "monitoring_body": "PC",
            "report_back_deadline": "2005-06-01T00:00:00Z",
            "reminder_before_seconds": 86_400,
        },
    ),
    "report_progress": Case("planned", "RUS", {"item_id": "A2", "summary": "Contacts made"}),
    "complete_action_item": Case("planned", "RUS", {"item_id": "A2", "note": "Done"}),
    "raise_issue": Case("planned", "POL", {"title": "Uneven", "description": "Some lag"}),
    "propose_issue_resolution": Case(
        "issue_raised",
        CHAIR,
        {
            "issue": 1,
            "text": "Report quarterly.",
            "deadline": "2005-02-01T00:00:00Z",
            "reminder_before_seconds": 3600,
        },
    ),
    "request_meeting": Case(
        "proposed", "RUS", {"level": "foreign_ministers", "reason": "Urgent threat"}
    ),
    "complete": Case("items_done", CHAIR, {"summary": "All done"}),
    "withdraw": Case("proposed", "POL", {"reason": "No longer needed"}),
    "supersede": Case("planned", CHAIR, {"superseded_by": "d-berlin-2011", "reason": "Newer"}),
    "record_supersession": Case("planned", CHAIR, {"supersedes": "d-rome-2002", "reason": "r"}),
    "suspend": Case("proposed", CHAIR, {"reason": "Consultations"}),
    "resume": Case("suspended", CHAIR, {"reason": "Consultations over"}),
    "schedule_agenda_item": Case(
        "proposed",
        "system",
        {
            "meeting_id": "meeting.pc-20041201t0900z",
            "body": "PC",
            "sitting_at": "2004-12-01T09:00:00Z",
            "item": "proposal_for_review",
            "detail": "Proposal by POL",
        },
        recorded_by="system:meetings",
    ),
}


KINDS: tuple[str, ...] = tuple(
    model.model_fields["kind"].default for model in typing.get_args(typing.get_args(Command)[0])
)
"""Every kind of command, read from the union: a new kind has no Case until one is written."""


def kind_of(command: type[CommandBase]) -> str:
    """A command class's kind, as its routes and the CLI name it."""
    kind: str = command.model_fields["kind"].default
    return kind


def json_text(value: Any) -> bytes | None:
    """`value` as the JSON a client could send, or None when JSON has no such value (a Python
    datetime): bytes as they are (not UTF-8), nesting written out beyond the depth json's
    encoder recurses to, NaN and infinities as Python's json writes (and reads) them."""
    if isinstance(value, bytes | bytearray):
        return b'"' + bytes(value) + b'"'
    opening: list[bytes] = []
    closing: list[bytes] = []
    while isinstance(value, list | dict) and len(value) == 1:
        if isinstance(value, list):
            opening.append(b"[")
            closing.append(b"]")
            [value] = value
        else:
            [(name, value)] = value.items()
            opening.append(b"{" + json.dumps(name).encode() + b":")
            closing.append(b"}")
    try:
        leaf = json.dumps(value).encode()
    except (TypeError, ValueError):
        return None
    return b"".join(opening) + leaf + b"".join(reversed(closing))


Path = tuple[str | int, ...]
"""Where a value sits in a payload: a field, or a field of an item of a field."""


def paths_in(fields: dict[str, Any], names: Iterable[str]) -> list[Path]:
    """Each of `names`, and every place inside the lists and objects `fields` gives them."""

    def inside(path: Path, value: Any) -> Iterator[Path]:
        if isinstance(value, dict):
            for name, held in value.items():
                yield (*path, name)
                yield from inside((*path, name), held)
        elif isinstance(value, list):
            for place, held in enumerate(value):
                yield from inside((*path, place), held)

    found: list[Path] = [(name,) for name in names]
    for name, value in fields.items():
        found.extend(inside((name,), value))
    return found


def spoiled(payload: Any, path: Path, value: Any) -> Any:
    """A copy of `payload` (a dict, or a list inside one) with `value` at `path`."""
    head, rest = path[0], path[1:]
    copied = list(payload) if isinstance(payload, list) else dict(payload)
    key: Any = int(head) if isinstance(payload, list) else str(head)
    copied[key] = value if not rest else spoiled(copied[key], rest, value)
    return copied
