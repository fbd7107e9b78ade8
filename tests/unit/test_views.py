"""`concord status` shows the whole decision: the text, who said what, the plan."""

from __future__ import annotations

import pytest

from cli.reading import print_status, read_back, readable, statements, status_document
from domain.events import event_payload
from domain.roster import CHAIR
from store.records import StoredEvent, event_id_for
from tests.unit.domain.scenario import TEXT, Scenario

ONE_ITEM = [
    {"item_id": "A2", "description": "Financing", "assignee": {"kind": "member", "code": "RUS"}}
]


def test_status_shows_the_text_every_answer_and_reason_concerns_and_the_plan(
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = Scenario().round_open()
    members = s.s.rounds[0].members
    s.do("register_concern", "NOR", round=1, statement="Human rights safeguards")
    s.do(
        "break_silence",
        "RUS",
        round=1,
        text_hash=s.s.rounds[0].text_hash,
        reasons="The definition is too narrow",
    )
    s.do("close_round", CHAIR, round=1)

    print_status(s.s)
    shown = capsys.readouterr().out

    assert s.s.current_revision.text.splitlines()[0] in shown
    assert "RUS objects: The definition is too narrow" in shown
    assert "NOR concern: Human rights safeguards" in shown
    assert "round 1 on the decision: failed" in shown
    assert len(members) > 20


def test_status_shows_the_plan_items_and_who_answers_for_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = Scenario().planned()
    s.do("complete_action_item", "RUS", item_id="A2")

    print_status(s.s)
    shown = capsys.readouterr().out

    assert "A1 (all members): Joint threat assessment — outstanding" in shown
    assert "A2 (RUS): Exchange of information on financing — done" in shown


def logged(scenario: Scenario) -> list[StoredEvent]:
    """The scenario's events as the log gives them back (their chain aside: no hashes)."""
    return [
        StoredEvent(
            position=e.stream_version,
            event_id=event_id_for(e.decision_id, e.stream_version),
            decision_id=e.decision_id,
            stream_version=e.stream_version,
            type=e.type,
            schema_version=1,
            stored_schema_version=1,
            payload=event_payload(e),
            actor=e.actor,
            recorded_by=e.recorded_by,
            occurred_at=e.occurred_at,
            recorded_at=e.occurred_at,
            stream_prev_hash="",
            prev_hash="",
            hash="",
            body=b"",
        )
        for e in scenario.events
    ]


def failed_round_then_amended() -> Scenario:
    """Round 1 fails on GBR's objection after RUS withdrew its own; revision 2 is adopted."""
    s = Scenario().round_open()
    text_hash = s.s.rounds[0].text_hash
    s.do("concur", "USA", round=1, text_hash=text_hash)
    s.do("break_silence", "RUS", round=1, text_hash=text_hash, reasons="Too narrow")
    s.do("withdraw_objection", "RUS", round=1)
    s.do("break_silence", "GBR", round=1, text_hash=text_hash, reasons="Capitals disagree")
    s.do("close_round", CHAIR, round=1)
    s.do("complete_review", CHAIR, outcome="amend", text="The amended text.")
    s.do("open_round", CHAIR, deadline=s.later(days=7))
    s.answer(2, s.s.rounds[1].members)
    return s


def test_status_shows_each_closed_round_on_its_revision_with_withdrawn_objections_and_silence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = failed_round_then_amended()

    print_status(s.s, read_back(logged(s)))
    shown = capsys.readouterr().out

    assert "round 1 on the decision: failed\n    on revision 1 (sha256:" in shown
    assert f"):\n      {TEXT}" in shown, (
        "round 1 was opened on the text as proposed, not the current"
    )
    assert "RUS objected: Too narrow — withdrawn" in shown
    assert "GBR objects: Capitals disagree" in shown
    silent = next(line for line in shown.splitlines() if line.strip().startswith("silent:"))
    assert "RUS" in silent and "NOR" in silent and "USA" not in silent and "GBR" not in silent
    assert "on revision 2 (sha256:" in shown and "), the text above" in shown

    document = status_document(s.s, read_back(logged(s)))
    first, second = document["rounds"]
    assert (first["revision"], first["text"]) == (1, TEXT)
    assert first["withdrawn_objections"][0]["member"] == "RUS"
    assert first["withdrawn_objections"][0]["reasons"] == "Too narrow"
    assert "RUS" in first["silent"] and "USA" not in first["silent"]
    assert (second["revision"], second["text"], second["silent"]) == (2, "The amended text.", [])
    assert (document["text"], document["revision"]) == ("The amended text.", 2)


def test_what_was_said_holds_the_withdrawal_the_reports_item_and_the_meetings_level() -> None:
    s = failed_round_then_amended()
    s.do("plan_implementation", CHAIR, action_items=ONE_ITEM, report_back_deadline=s.later(days=90))
    s.do("report_progress", "RUS", item_id="A2", summary="Exchanged")
    s.do("request_meeting", "RUS", level="foreign_ministers", reason="Urgent threat")

    said = [(e.actor, e.event, e.text, e.about()) for e in statements(logged(s))]

    assert ("RUS", "SilenceBroken", "Too narrow", " (round 1)") in said
    assert ("RUS", "ObjectionWithdrawn", "", " (round 1)") in said
    assert ("RUS", "ProgressReported", "Exchanged", " (item A2)") in said
    assert ("RUS", "ExtraordinaryMeetingRequested", "Urgent threat", " (at the level of "
            "foreign_ministers)") in said  # fmt: skip


def test_status_says_at_which_level_a_meeting_was_requested(
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = Scenario().proposed()
    s.do("request_meeting", "RUS", level="foreign_ministers", reason="Urgent threat")

    print_status(s.s)

    assert "meeting at the level of foreign_ministers requested by RUS" in capsys.readouterr().out
    assert status_document(s.s)["meetings"][0]["level"] == "foreign_ministers"


HIDDEN = "Report \u202equarterly\u202c to the\u200b Ambassadors\u2066\u2069\ufeff"


def test_a_resolution_is_shown_with_its_hidden_characters_written_out_and_kept_as_is_in_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    s = Scenario().planned()
    s.do("raise_issue", "POL", title="Uneven contributions")
    s.do("propose_issue_resolution", CHAIR, issue=1, text=HIDDEN, deadline=s.later(days=3))

    print_status(s.s, read_back(logged(s)))
    shown = capsys.readouterr().out

    assert "Report \\u202equarterly\\u202c to the\\u200b Ambassadors\\u2066\\u2069\\ufeff" in shown
    assert not any(c in shown for c in "\u202e\u202c\u200b\u2066\u2069\ufeff")
    assert "round 2 on implementation issue 1: open until" in shown
    assert "    on the resolution (sha256:" in shown
    assert "resolution of round 2 (sha256:" in shown

    document = status_document(s.s, read_back(logged(s)))
    assert document["rounds"][-1]["text"] == HIDDEN
    resolution = document["implementation_issues"][0]["resolution"]
    assert resolution["text"] == HIDDEN and resolution["round"] == 2
    assert resolution["text_hash"] == s.s.rounds[-1].text_hash and resolution["outcome"] is None


def test_a_resolutions_text_is_unknown_not_invented_when_the_log_was_not_read() -> None:
    s = Scenario().planned()
    s.do("raise_issue", "POL", title="Uneven contributions")
    s.do("propose_issue_resolution", CHAIR, issue=1, text="Quarterly", deadline=s.later(days=3))

    assert status_document(s.s)["rounds"][-1]["text"] is None
    assert read_back(None) is None


def test_text_someone_wrote_is_printed_with_controls_and_invisible_characters_escaped() -> None:
    assert readable("a\x1b[31mb\u202ec\u2066d\u200be\ufeff[bold]") == (
        "a\\x1b[31mb\\u202ec\\u2066d\\u200be\\ufeff\\[bold]"
    )
