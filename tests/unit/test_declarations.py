"""The declarations say what each command is to the adapters; they must name what the commands'
classes hold, or a derived CLI option, route or form would take a field no command has."""

from __future__ import annotations

import re

from domain.commands import COMMAND_CLASSES
from domain.declarations import BY_KIND, DECLARED, Giver

GIVEN_BY_THE_PROCEDURE = {
    "submit_proposal",  # the CLI and the API take a proposal with its new decision's id
    "record_supersession",
    "schedule_agenda_item",
    "flag_missed_deadline",
}


def test_every_command_a_person_gives_is_declared_once() -> None:
    assert len(BY_KIND) == len(DECLARED)
    assert set(BY_KIND) == set(COMMAND_CLASSES) - GIVEN_BY_THE_PROCEDURE


def test_what_a_declaration_names_is_a_field_of_its_command() -> None:
    for declared in DECLARED:
        fields = set(COMMAND_CLASSES[declared.kind].model_fields)
        named = set(declared.cli.fields if declared.cli else ())
        named |= set(declared.form.fields if declared.form else ())
        named |= set(re.findall(r"{(\w+)}", declared.path or ""))
        assert named <= fields, f"{declared.kind} names {named - fields}"
        assert not declared.answers_round or "round" in fields, declared.kind
        assert not declared.bound_to_text or "text_hash" in fields, declared.kind


def test_verbs_paths_and_forms_are_each_one_commands() -> None:
    verbs = [d.cli.verb for d in DECLARED if d.cli]
    paths = [d.path for d in DECLARED if d.path]
    for giver in Giver:
        actions = [d.form.action for d in DECLARED if d.form and d.given_by is giver]
        assert len(actions) == len(set(actions)), giver
    assert len(verbs) == len(set(verbs)) and len(paths) == len(set(paths))


def test_a_command_bound_to_the_text_read_answers_a_round() -> None:
    assert {d.kind for d in DECLARED if d.bound_to_text} == {"concur", "break_silence"}
    assert all(d.answers_round for d in DECLARED if d.bound_to_text)
