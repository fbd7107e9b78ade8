"""Council files: the shipped NRC and the starter file validate, and every problem of a broken
file is refused with the file's path and the line it is on, by the reader and by the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.app import invoke
from domain.errors import InvalidInput
from domain.nrc import NRC
from domain.roster import BodyKind, CouncilLevel
from runtime.council_files import (
    COUNCIL_TEMPLATE,
    SCHEMA_PATH,
    CouncilFileInvalidAtLines,
    council_document,
    council_from_text,
    council_schema,
    main,
    read_council_file,
)

ROOT = Path(__file__).parents[2]
NRC_PATH = ROOT / "domain" / "councils" / "nrc.yaml"

UNKNOWN_MEMBER = ("members: [DNK, ISL, NOR]", "members: [DNK, XXX, NOR]")
YEARLY_AMBASSADORS = (
    'rule: "FREQ=MONTHLY;BYDAY=1TH;BYHOUR=10"',
    'rule: "FREQ=YEARLY;BYMONTH=3;BYDAY=1TH;BYHOUR=10"',
)
WORKING_GROUP_NAMED_PC = ("code: WG-ARCTIC", "code: PC")


def _nordic(tmp_path: Path, *edits: tuple[str, str], appended: str = "") -> Path:
    """The starter file with `edits` made (each text found once) and `appended` at its end."""
    text = COUNCIL_TEMPLATE
    for old, new in edits:
        assert text.count(old) == 1, f"the starter file no longer holds {old!r} once"
        text = text.replace(old, new)
    path = tmp_path / "nordic.yaml"
    path.write_text(text + appended, encoding="utf-8")
    return path


def _line(path: Path, fragment: str) -> int:
    """The number (1-based) of the first line of `path` holding `fragment`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if fragment in line)


def _problems(path: Path) -> list[str]:
    with pytest.raises(CouncilFileInvalidAtLines) as refused:
        read_council_file(path)
    assert isinstance(refused.value, InvalidInput)
    assert refused.value.field == str(path)
    return [problem.text() for problem in refused.value.file_problems]


def _year(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def test_the_shipped_nrc_file_has_20_members_on_roster_version_1_and_27_on_version_2() -> None:
    council = read_council_file(NRC_PATH)
    assert council == NRC
    sizes = {roster.version: len(roster.members) for roster in council.rosters}
    assert sizes == {1: 20, 2: 27}
    assert len(council.members) == 27


def test_the_nrc_preparatory_committee_sits_24_times_a_year_and_its_ambassadors_12() -> None:
    council = read_council_file(NRC_PATH)
    committee, ambassadors = council.body("PC"), council.body("NRC-AMB")
    assert committee is not None and committee.cadence is not None
    assert ambassadors is not None and ambassadors.cadence is not None
    for year in (2003, 2010, 2024):
        start, end = _year(year)
        assert len(committee.cadence.sittings_between(council.anchor, start, end)) == 24
        assert len(ambassadors.cadence.sittings_between(council.anchor, start, end)) == 12


def test_the_starter_file_validates_as_it_stands(tmp_path: Path) -> None:
    council = read_council_file(_nordic(tmp_path))
    assert council.code == "NORDIC"
    assert [m.code for m in council.members] == ["DNK", "FIN", "ISL", "NOR", "SWE"]
    assert [(r.version, r.members) for r in council.rosters] == [
        (1, ("DNK", "FIN", "ISL", "NOR", "SWE"))
    ]
    ambassadors, committee, group = council.bodies
    assert (ambassadors.kind, ambassadors.level) == (BodyKind.COUNCIL, CouncilLevel.AMBASSADORS)
    start, end = _year(2026)
    assert ambassadors.cadence is not None and committee.cadence is not None
    assert len(ambassadors.cadence.sittings_between(council.anchor, start, end)) == 12
    assert committee.kind is BodyKind.PREPARATORY_COMMITTEE
    assert len(committee.cadence.sittings_between(council.anchor, start, end)) == 24
    assert group.kind is BodyKind.WORKING_GROUP
    assert group.members == ("DNK", "ISL", "NOR") and group.cadence is None


def test_a_list_of_members_is_not_also_told_it_should_be_all(tmp_path: Path) -> None:
    path = _nordic(tmp_path, ("members: [DNK, ISL, NOR]", "members: [DNK, xx]"))
    assert _problems(path) == [
        f"{path}:{_line(path, 'xx]')} bodies[2].members[1]: String should match pattern "
        "'^[A-Z]{3}$'"
    ]


def test_the_starter_file_shows_every_key_a_council_file_can_hold() -> None:
    schema = json.loads(council_schema())
    keys = set(schema["properties"])
    for definition in schema["$defs"].values():
        keys |= set(definition.get("properties", {}))
    missing = {key for key in keys if f"{key}:" not in COUNCIL_TEMPLATE}
    assert missing == set()


def test_a_council_shown_as_yaml_reads_back_as_the_same_council() -> None:
    assert council_from_text(council_document(NRC), "nrc.yaml") == NRC


def test_a_body_naming_an_unknown_member_is_refused_at_its_line(tmp_path: Path) -> None:
    path = _nordic(tmp_path, UNKNOWN_MEMBER)
    line = _line(path, "XXX")
    assert _problems(path) == [
        f"{path}:{line} bodies[2].members[1]: unknown member XXX: not among the council's members"
    ]


def test_overlapping_roster_versions_are_refused_at_the_line_of_the_earlier_end(
    tmp_path: Path,
) -> None:
    path = _nordic(
        tmp_path,
        (
            "effective_from: 2025-01-01\n",
            "effective_from: 2025-01-01\n    effective_until: 2026-06-01\n",
        ),
        appended="  - version: 2\n    effective_from: 2026-01-01\n    members: [DNK, FIN, NOR]\n",
    )
    line = _line(path, "effective_until: 2026-06-01")
    assert _problems(path) == [
        f"{path}:{line} rosters[0].effective_until: version 1 is in force until 2026-06-01, "
        "after version 2 takes effect on 2026-01-01: roster versions overlap"
    ]


def test_a_cadence_that_cannot_keep_its_own_minimum_is_refused_at_its_line(
    tmp_path: Path,
) -> None:
    path = _nordic(tmp_path, YEARLY_AMBASSADORS)
    [problem] = _problems(path)
    assert problem.startswith(f"{path}:{_line(path, 'cadence:')} bodies[0].cadence: the rule sets")
    assert problem.endswith("below its minimum, at least 1 per month")


def test_a_member_code_given_twice_is_refused_at_the_second(tmp_path: Path) -> None:
    path = _nordic(tmp_path, ("{code: FIN,", "{code: DNK,"))
    line = _line(path, "Republic of Finland")
    assert f"{path}:{line} members[1].code: duplicate member DNK" in _problems(path)


def test_a_body_code_given_twice_is_refused_at_the_second(tmp_path: Path) -> None:
    path = _nordic(tmp_path, WORKING_GROUP_NAMED_PC)
    line = _line(path, "Working Group on Arctic") - 1
    assert _problems(path) == [f"{path}:{line} bodies[2].code: duplicate body PC"]


def test_a_missing_required_key_is_refused_at_the_line_of_its_parent(tmp_path: Path) -> None:
    path = _nordic(tmp_path, ("    name: Preparatory Committee\n", ""))
    line = _line(path, "- code: PC")
    assert _problems(path) == [f"{path}:{line} bodies[1].name: Field required"]


def test_a_yaml_syntax_error_is_refused_at_its_line(tmp_path: Path) -> None:
    path = _nordic(tmp_path, ("title: Secretary General", "title: Secretary: General"))
    line = _line(path, "title: Secretary: General")
    assert _problems(path) == [f"{path}:{line}: not YAML: mapping values are not allowed here"]


def test_a_key_given_twice_is_refused_rather_than_the_first_silently_dropped(
    tmp_path: Path,
) -> None:
    path = _nordic(tmp_path, appended="name: Nordic Council\n")
    first, second = _line(path, "name: Nordic Cooperation"), _line(path, "name: Nordic Council")
    assert _problems(path) == [
        f"{path}:{second} name: key name given twice (first on line {first})"
    ]


def test_an_impossible_date_is_refused_at_its_line(tmp_path: Path) -> None:
    path = _nordic(tmp_path, ("effective_from: 2025-01-01", "effective_from: 2025-02-30"))
    line = _line(path, "2025-02-30")
    assert any(p.startswith(f"{path}:{line} rosters[0].effective_from: ") for p in _problems(path))


def test_a_file_with_several_problems_lists_them_all_in_the_order_of_the_file(
    tmp_path: Path,
) -> None:
    path = _nordic(tmp_path, UNKNOWN_MEMBER, YEARLY_AMBASSADORS, WORKING_GROUP_NAMED_PC)
    problems = _problems(path)
    assert [p.split(" ")[:2] for p in problems] == [
        [f"{path}:{_line(path, 'cadence:')}", "bodies[0].cadence:"],
        [f"{path}:{_line(path, 'Working Group on Arctic') - 1}", "bodies[2].code:"],
        [f"{path}:{_line(path, 'XXX')}", "bodies[2].members[1]:"],
    ]


def test_a_file_that_is_not_a_mapping_is_refused_at_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- DNK\n- FIN\n", encoding="utf-8")
    assert _problems(path) == [
        f"{path}:1: a council file is a mapping of keys (code, name, members, bodies, rosters), "
        "not a list"
    ]


def test_a_missing_file_is_refused_naming_its_path(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(InvalidInput, match=r"absent\.yaml: no such file") as refused:
        read_council_file(path)
    assert refused.value.field == str(path)


def test_validate_summarises_a_valid_file_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _nordic(tmp_path)
    assert invoke(["council", "validate", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "valid, council NORDIC" in shown
    assert "5 members, 3 bodies, 1 roster version" in shown


def test_validate_prints_every_problem_on_its_own_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _nordic(tmp_path, UNKNOWN_MEMBER, YEARLY_AMBASSADORS, WORKING_GROUP_NAMED_PC)
    expected = _problems(path)
    assert invoke(["council", "validate", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == expected


def test_validate_json_lists_every_problem_with_its_line_location_and_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _nordic(tmp_path, UNKNOWN_MEMBER)
    assert invoke(["council", "validate", str(path), "--json"]) == 2
    document = json.loads(capsys.readouterr().out)
    assert document == {
        "valid": False,
        "file": str(path),
        "problems": [
            {
                "line": _line(path, "XXX"),
                "location": "bodies[2].members[1]",
                "message": "unknown member XXX: not among the council's members",
            }
        ],
    }


def test_init_writes_a_starter_file_that_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke(["council", "init"]) == 0
    assert (tmp_path / "council.yaml").read_text(encoding="utf-8") == COUNCIL_TEMPLATE
    assert invoke(["council", "validate", "council.yaml"]) == 0


def test_init_refuses_to_overwrite_a_file_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("code: MINE\n", encoding="utf-8")
    assert invoke(["council", "init", str(path)]) == 2
    assert "exists already" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == "code: MINE\n"
    assert invoke(["council", "init", str(path), "--force"]) == 0
    assert path.read_text(encoding="utf-8") == COUNCIL_TEMPLATE


def test_show_json_of_a_file_prints_its_council(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _nordic(tmp_path)
    assert invoke(["council", "show", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == read_council_file(path).model_dump(mode="json")


def test_show_lists_members_bodies_with_their_cadences_and_roster_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert invoke(["council", "show", str(_nordic(tmp_path))]) == 0
    shown = capsys.readouterr().out
    for expected in ("Kingdom of Sweden", "WG-ARCTIC", "ad hoc", "2 per month", "2025-01-01"):
        assert expected in shown


def test_show_yaml_prints_a_council_file_that_reads_back_as_the_same_council(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert invoke(["council", "show", str(NRC_PATH), "--yaml"]) == 0
    assert council_from_text(capsys.readouterr().out, "shown.yaml") == NRC


def test_the_schema_in_docs_is_the_one_the_code_generates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (ROOT / SCHEMA_PATH).read_text(encoding="utf-8") == council_schema()
    assert main(["--schema"]) == 0
    assert capsys.readouterr().out == council_schema()


def test_problems_of_form_and_of_consistency_are_reported_together_without_noise(
    tmp_path: Path,
) -> None:
    """A member's malformed code does not hide a duplicate body nor an unknown member."""
    path = _nordic(
        tmp_path,
        ("{code: FIN, name: Republic of Finland}", "{code: Fin, name: Republic of Finland}"),
        ("members: [DNK, ISL, NOR]", "members: [DNK, XXX, NOR]"),
        WORKING_GROUP_NAMED_PC,
    )
    body = _line(path, "XXX")
    assert _problems(path) == [
        f"{path}:{_line(path, 'code: Fin')} members[1].code: String should match pattern "
        "'^[A-Z]{3}$'",
        f"{path}:{_line(path, 'Working Group on Arctic') - 1} bodies[2].code: duplicate body PC",
        f"{path}:{body} bodies[2].members[1]: unknown member XXX: not among the council's members",
        f"{path}:{_line(path, 'members: [DNK, FIN, ISL, NOR, SWE]')} rosters[0].members[1]: "
        "unknown member FIN: not among the council's members",
    ]


def test_a_council_without_a_preparatory_committee_is_valid_and_one_with_two_is_not(
    tmp_path: Path,
) -> None:
    block = COUNCIL_TEMPLATE[
        COUNCIL_TEMPLATE.index("  # The preparatory committee") : COUNCIL_TEMPLATE.index(
            "  # A working group of three"
        )
    ]
    without = _nordic(tmp_path, (block, ""))
    council = read_council_file(without)
    assert not council.roster_book().latest.has_preparatory_committee
    two = _nordic(
        tmp_path,
        (
            "kind: working_group\n    members: [DNK",
            "kind: preparatory_committee\n    members: [DNK",
        ),
    )
    assert _problems(two) == [
        f"{two}:{_line(two, 'bodies:')} bodies: a council has at most one body of kind "
        "preparatory_committee; this one has 2"
    ]


def test_areas_and_levels_are_the_councils_own(tmp_path: Path) -> None:
    council = read_council_file(_nordic(tmp_path))
    assert [a.code for a in council.areas] == ["search_and_rescue", "civil_emergencies"]
    book = council.roster_book().latest
    assert book.has_area("search_and_rescue") and book.has_area("other")
    assert not book.has_area("crisis_management")
    assert book.levels == ("ambassadors",)
    path = _nordic(
        tmp_path,
        ("level: ambassadors", "level: foreign_ministers"),
        (
            "  - {code: civil_emergencies, name: Civil emergencies}\n",
            "  - {code: other, name: X}\n",
        ),
    )
    assert _problems(path) == [
        f"{path}:{_line(path, 'code: other')} areas[1].code: every council has the area other; "
        "leave it out",
        f"{path}:{_line(path, '{code: ambassadors')} levels[0]: no council body sits at the "
        "level ambassadors",
        f"{path}:{_line(path, 'level: foreign_ministers')} bodies[0].level: unknown level "
        "foreign_ministers: not among the council's levels (ambassadors)",
    ]


def test_a_two_yearly_rule_counts_from_its_own_day(tmp_path: Path) -> None:
    path = _nordic(
        tmp_path,
        (
            'rule: "FREQ=MONTHLY;BYDAY=1TH;BYHOUR=10"',
            'rule: "FREQ=YEARLY;INTERVAL=2;BYMONTH=5;BYHOUR=10"',
        ),
        ("counted_from: 2025-01-02", "counted_from: 2027-05-11"),
        ("      at_least: {sittings: 1, per: month}\n", ""),
    )
    ambassadors = read_council_file(path).bodies[0]
    assert ambassadors.cadence is not None
    after = datetime(2026, 1, 1, tzinfo=UTC)
    # Counted from the first roster (2025) it would sit in 2027, 2029, ...: it counts from 2027.
    assert ambassadors.cadence.next_sitting(datetime(2024, 1, 1, tzinfo=UTC), after) == datetime(
        2027, 5, 11, 10, tzinfo=UTC
    )
    assert ambassadors.cadence.next_sitting(
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2027, 6, 1, tzinfo=UTC)
    ) == datetime(2029, 5, 11, 10, tzinfo=UTC)
