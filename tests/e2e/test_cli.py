"""The `concord` CLI driving the real embedded stack (`concord dev`) in a temporary data dir."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from store.revisions import head_revision
from tests.e2e.conftest import Stack, running_stack
from tests.ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("concord-dev")) as running:
        yield running


class Delegations:
    """The delegations' concurrences, recorded by the secretariat through the stack's API.

    Every member concurring closes a round at once, so no test waits on the machine's clock for
    a silence deadline (adoption by silence at the deadline is the workflow's, driven by the
    time-skipping server in tests/integration/workflows/test_lifecycle.py); and twenty answers
    over HTTP take a fraction of a second where each `concord concur` takes about one.
    """

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        token = stack.ok("tokens", "issue", "--operator", "secretariat")["token"]
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{stack.env['CONCORD_API_PORT']}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )

    def all_concur(self, decision_id: str, number: int) -> list[str]:
        """Every member of round `number`'s roster concurs; the event types of the one answer
        that closed the round."""
        opened = self.stack.ok("status", decision_id)["rounds"][number - 1]

        def concur(member: str) -> list[str]:
            response = self.http.post(
                f"/decisions/{decision_id}/concurrences",
                json={"actor": member, "round": number, "text_hash": opened["text_hash"]},
            )
            assert response.status_code == 201, response.text
            event_types: list[str] = response.json()["event_types"]
            return event_types

        with ThreadPoolExecutor(max_workers=8) as answering:
            answers = list(answering.map(concur, opened["members"]))
        closing = [a for a in answers if "ConsensusReached" in a]
        assert len(closing) == 1, f"{decision_id} round {number} closed {len(closing)} times"
        return closing[0]


@pytest.fixture(scope="module")
def delegations(stack: Stack) -> Iterator[Delegations]:
    answering = Delegations(stack)
    yield answering
    answering.http.close()


def test_a_decision_runs_its_whole_life_through_the_cli(
    stack: Stack, delegations: Delegations, tmp_path: Path
) -> None:
    text = tmp_path / "plan.txt"
    text.write_text("The NATO-Russia Council rejects terrorism in all its manifestations.")
    receipt = stack.ok(
        "propose",
        "--id",
        "d-cli",
        "--as",
        "POL",
        "--title",
        "Action Plan on Terrorism",
        "--area",
        "struggle_against_terrorism",
        "--text-file",
        str(text),
    )
    assert receipt["stream_version"] == 1 and len(receipt["hashes"]) == 1
    stack.ok("refer", "d-cli")
    stack.ok("review", "d-cli", "--outcome", "forward")
    stack.ok("open-round", "d-cli", "--deadline", "1h")
    # An unsigned answer has no signature to check against the key registry: it opens no store.
    concurred = stack.concord(
        "concur", "d-cli", "--as", "USA", env={**stack.env, "PYTHONPROFILEIMPORTTIME": "1"}
    )
    assert concurred.returncode == 0, concurred.stderr
    assert "accepted d-cli v5: ConcurrenceRecorded" in concurred.stdout
    assert "sqlalchemy" not in concurred.stderr and "runtime.commands" in concurred.stderr
    objection = stack.ok("object", "d-cli", "--as", "RUS", "--reasons", "Too narrow")
    assert objection["event_types"] == ["SilenceBroken"]
    pending = stack.ok("pending", "--member", "GBR")
    assert pending["member"] == "GBR"
    stack.ok("close-round", "d-cli", "--round", "1")
    stack.ok("review", "d-cli", "--outcome", "amend", "--text", "Amended text")
    stack.ok("open-round", "d-cli", "--deadline", "1h")
    stack.ok("concern", "d-cli", "--as", "NOR", "--statement", "Human rights")
    assert delegations.all_concur("d-cli", 2)[-2:] == ["ConsensusReached", "DecisionAdopted"]
    status = stack.ok("status", "d-cli")
    assert status["state"] == "adopted" and status["area"] == "struggle_against_terrorism"
    outcomes = [r["outcome"] for r in status["rounds"]]
    assert outcomes == ["failed", "adopted_by_unanimous_concurrence"]

    # A second `concord dev` on the same data directory resumes the decision in flight.
    assert stack.stop() == 0
    offline = stack.ok("status", "d-cli")  # Temporal is down: the state comes from the log
    assert offline["state"] == "adopted" and offline["version"] == status["version"]
    stack.start()
    stack.ok(
        "plan",
        "d-cli",
        "--item",
        "A1:all:Joint assessment",
        "--item",
        "A2:RUS:Financing exchange",
        "--report-back",
        "180d",
    )
    in_flight = stack.ok("audit", "replay", "d-cli")  # no run has closed: the live one is replayed
    assert in_flight["ok"] and in_flight["live_run"] and in_flight["runs"] == 1
    stack.ok("report", "d-cli", "--as", "RUS", "--item", "A2", "--summary", "Exchanged")
    stack.ok("raise-issue", "d-cli", "--as", "POL", "--title", "Uneven contributions")
    stack.ok(
        "resolve-issue", "d-cli", "--issue", "1", "--text", "Report quarterly", "--deadline", "1h"
    )
    assert delegations.all_concur("d-cli", 3)[-1] == "ImplementationIssueResolved"
    stack.ok("report", "d-cli", "--as", "GBR", "--item", "A1", "--summary", "UK part done")
    joint = stack.fails(3, "complete-item", "d-cli", "--as", "GBR", "--item", "A1")
    assert "assigned to all members jointly" in joint
    stack.ok("complete-item", "d-cli", "--as", "PC", "--item", "A1")
    stack.ok("complete-item", "d-cli", "--as", "RUS", "--item", "A2")
    stack.ok("report", "d-cli", "--as", "PC", "--summary", "Report back to Ambassadors")
    stack.ok("complete", "d-cli", "--summary", "Implemented")
    status = stack.ok("status", "d-cli")
    assert status["state"] == "completed"
    said = {(entry["actor"], entry["event"], entry["text"]) for entry in status["said"]}
    assert {
        ("RUS", "SilenceBroken", "Too narrow"),
        ("NOR", "ConcernRegistered", "Human rights"),
        ("RUS", "ProgressReported", "Exchanged"),
    } <= said
    assert status["implementation_issues"][0]["open"] is False

    listed: list[str] = []
    for _ in range(20):
        listed = [d["decision_id"] for d in stack.ok("list", "--state", "completed")["decisions"]]
        if "d-cli" in listed:
            break
        time.sleep(0.5)
    assert "d-cli" in listed
    amended = stack.ok("text", "d-cli", "--revision", "2", "--diff")
    assert amended["text"] == "Amended text" and "+Amended text" in amended["diff"]
    assert "revision 9" in stack.fails(4, "text", "d-cli", "--revision", "9")
    freshness = stack.ok("list")["read_model"]
    assert 0 < freshness["position"] <= freshness["log_position"]
    assert stack.ok("audit", "verify")["ok"] is True
    history = stack.ok("audit", "history", "d-cli")
    first = history["events"][0]
    assert first["type"] == "ProposalSubmitted"
    assert first["payload"]["title"] == "Action Plan on Terrorism"
    assert first["position"] >= 1 and first["prev_hash"] and first["event_id"]
    assert all(e["prev_hash"] != e["hash"] for e in history["events"])
    assert {e["recorded_by"] for e in history["events"]} >= {"operator:secretariat"}
    replayed = stack.ok("audit", "replay", "d-cli")
    assert replayed["ok"] is True and replayed["events_implied"] == len(history["events"])
    early = stack.ok("audit", "history", "d-cli", "--version", "1")
    assert [e["type"] for e in early["events"]] == ["ProposalSubmitted"]
    at_one = stack.ok("audit", "state", "d-cli", "--version", "1")
    assert at_one["state"] == early["state"] and at_one["state"]["state"] == "proposed"
    assert stack.ok("audit", "state", "d-cli")["state"] == history["state"]
    assert "--version" in stack.fails(2, "audit", "state", "d-cli", "--version", "0")


@pytest.mark.parametrize(
    ("day", "members", "version"), [("2003-06-01", 20, 1), ("2005-06-01", 27, 2)]
)
def test_a_round_is_among_the_roster_of_the_day_its_decision_names_not_the_clocks(
    stack: Stack, day: str, members: int, version: int
) -> None:
    decision_id = f"d-roster-{version}"
    stack.ok(
        "propose", "--id", decision_id, "--as", "ITA", "--title", f"Roster of {day}",
        "--area", "civil_emergencies", "--text", "x", "--roster-on", day,
    )  # fmt: skip
    stack.ok("refer", decision_id)
    stack.ok("review", decision_id, "--outcome", "forward")
    stack.ok("open-round", decision_id, "--deadline", "1h")
    round_one = stack.ok("status", decision_id)["rounds"][0]
    assert len(round_one["members"]) == members and round_one["roster_version"] == version
    assert ("EST" in round_one["members"]) is (version == 2)


def test_a_later_decision_supersedes_an_earlier_one_and_both_show_the_link(
    stack: Stack, delegations: Delegations
) -> None:
    for decision_id in ("d-cli-2004", "d-cli-2011"):
        stack.ok(
            "propose",
            "--id",
            decision_id,
            "--as",
            "POL",
            "--title",
            f"Action Plan {decision_id[-4:]}",
            "--area",
            "struggle_against_terrorism",
            "--text",
            "Text",
        )
        stack.ok("refer", decision_id)
        stack.ok("review", decision_id, "--outcome", "forward")
        stack.ok("open-round", decision_id, "--deadline", "1h")
    refused = stack.fails(
        3, "supersede", "d-cli-2004", "--by", "d-cli-2011", "--reason", "Updated plan"
    )
    assert "only an adopted decision" in refused, "the successor is still under consensus"
    for decision_id in ("d-cli-2004", "d-cli-2011"):
        assert delegations.all_concur(decision_id, 1)[-1] == "DecisionAdopted"
    assert "no decision d-cli-nothing" in stack.fails(
        4, "supersede", "d-cli-2004", "--by", "d-cli-nothing"
    )

    receipts = stack.ok("supersede", "d-cli-2004", "--by", "d-cli-2011", "--reason", "Updated plan")
    assert receipts["superseded"]["event_types"] == ["DecisionSuperseded"]
    assert receipts["successor"]["event_types"] == ["DecisionSupersedes"]
    earlier = stack.status_when("d-cli-2004", lambda s: s["state"] == "superseded")
    later = stack.ok("status", "d-cli-2011")
    assert earlier["superseded_by"] == "d-cli-2011" and later["supersedes"] == ["d-cli-2004"]
    assert later["state"] == "adopted"
    said = {(e["actor"], e["event"], e["text"]) for e in later["said"]}
    assert ("chair", "DecisionSupersedes", "Updated plan") in said
    shown = stack.concord("status", "d-cli-2011")
    assert shown.returncode == 0 and "supersedes d-cli-2004" in shown.stdout


def test_the_dev_stacks_log_is_json_lines_with_the_temporal_servers_records(stack: Stack) -> None:
    records = [json.loads(line) for line in stack.log.read_text().splitlines() if line.strip()]
    assert all(isinstance(r, dict) and r.get("event") and r.get("level") for r in records)
    server = [r for r in records if r.get("logger") == "temporal.server"]
    assert any("Temporal Server" in r["event"] for r in server), "the server's banner, relayed"
    ready = [r for r in records if r["event"] == "stack ready"]
    assert ready and ready[0]["temporal"] == stack.env["CONCORD_TEMPORAL_ADDRESS"]
    assert ready[-1]["api"] == f"http://127.0.0.1:{stack.env['CONCORD_API_PORT']}"
    assert httpx.get(ready[-1]["api"] + "/health").json() == {"status": "ok"}


def test_tokens_are_issued_once_listed_without_secrets_and_revoked_on_record(
    stack: Stack,
) -> None:
    issued = stack.ok("tokens", "issue", "--member", "RUS", "--expires", "90d")
    assert issued["principal"] == "member:RUS" and issued["token"].startswith("concord_")
    assert issued["issued_by"] == "operator:secretariat" and issued["expires_at"]
    api = f"http://127.0.0.1:{stack.env['CONCORD_API_PORT']}"
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert httpx.get(f"{api}/roster", headers=headers).status_code == 200
    listed = stack.ok("tokens", "list")["tokens"]
    mine = next(t for t in listed if t["token_id"] == issued["token_id"])
    assert "token" not in mine and issued["token"] not in json.dumps(listed)
    stack.ok("tokens", "revoke", issued["token_id"])
    refused = httpx.get(f"{api}/roster", headers=headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthenticated"
    access = stack.ok("audit", "access")
    kinds = [
        (e["kind"], e["principal"])
        for e in access["access_events"]
        if e["token_id"] == issued["token_id"]
    ]
    assert kinds == [("token_issued", "member:RUS"), ("token_revoked", "member:RUS")]
    assert "no member 'XXX'" in stack.fails(4, "tokens", "issue", "--member", "XXX")
    assert "exactly one" in stack.fails(2, "tokens", "issue", "--member", "RUS", "--auditor", "a")


def test_a_second_stack_on_a_taken_port_says_so_and_exits_5(stack: Stack) -> None:
    line = stack.fails(5, "dev", "--data-dir", str(stack.data_dir / "second"))
    assert "is taken" in line and stack.env["CONCORD_TEMPORAL_ADDRESS"].split(":")[1] in line


def test_refusals_and_bad_input_get_one_line_and_their_exit_code(
    stack: Stack, tmp_path: Path
) -> None:
    stack.proposed("d-refusals")
    # Nothing to answer yet: the rules refuse it (exit 3), the CLI does not guess (exit 2).
    assert "no_such_round" in stack.fails(3, "concur", "d-refusals", "--as", "USA")
    stack.ok("refer", "d-refusals")
    stack.ok("review", "d-refusals", "--outcome", "forward")
    stack.ok("open-round", "d-refusals", "--deadline", "1h")
    # Without --round, a round's extension goes to the one open round.
    extended = stack.ok(
        "extend",
        "d-refusals",
        "--target",
        "round",
        "--deadline",
        "2h",
        "--reason",
        "Capitals need time",
    )
    assert extended["event_types"] == ["DeadlineExtended"]
    before = len(stack.ok("audit", "history", "d-refusals")["events"])

    for unknown in (
        ["roster", "show", "--version", "0"],
        ["list", "--member", "XYZ"],
        ["pending", "--member", "XYZ"],
    ):
        stack.fails(4, *unknown)

    line = stack.fails(3, "concur", "d-refusals", "--as", "CHE")
    assert "not_on_round_roster" in line and "CHE" in line
    assert "reasons_required" in stack.fails(
        3, "object", "d-refusals", "--as", "RUS", "--reasons", " "
    )
    assert "wrong_role" in stack.fails(
        3, "open-round", "d-refusals", "--as", "RUS", "--deadline", "1h"
    )
    kept = stack.ok("audit", "refusals", "--decision", "d-refusals")["refusals"]
    assert [(r["kind"], r["code"], r["channel"]) for r in kept] == [
        ("concur", "no_such_round", "cli"),
        ("concur", "not_on_round_roster", "cli"),
        ("break_silence", "reasons_required", "cli"),
        ("open_round", "wrong_role", "cli"),
    ], "every refusal is kept as evidence, in order"
    assert kept[1]["principal"] == "operator:secretariat" and kept[1]["command"]["actor"] == "CHE"
    assert "deadline" in stack.fails(2, "open-round", "d-refusals", "--deadline", "soon")
    assert "no decision d-nowhere" in stack.fails(4, "status", "d-nowhere")
    assert "d-nowhere" in stack.fails(
        4, "concur", "d-nowhere", "--as", "USA", "--round", "1", "--text-hash", "sha256:" + "0" * 64
    )
    assert "title" in stack.fails(
        2, "propose", "--as", "USA", "--area", "crisis_management", "--text", "x"
    )
    missing = tmp_path / "missing.txt"
    assert "does not exist" in stack.fails(
        2,
        "propose",
        "--as",
        "USA",
        "--title",
        "T",
        "--area",
        "crisis_management",
        "--text-file",
        str(missing),
    )
    assert "--as: 'ru' is not a member's code" in stack.fails(
        2, "concur", "d-refusals", "--as", "ru"
    )
    unreachable = {**stack.env, "CONCORD_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    result = stack.concord("concur", "d-refusals", "--as", "USA", env=unreachable)
    assert result.returncode == 5 and "concord dev" in result.stderr
    assert len(stack.ok("audit", "history", "d-refusals")["events"]) == before


def test_a_proposal_given_again_with_its_key_is_one_decision(stack: Stack) -> None:
    """`propose --key K` without --id, given twice, is one decision with one receipt; the key
    given again for another proposal of that decision is refused naming it; a key too long for
    the API is refused in one line; the key given on another decision is refused there."""
    propose = ["propose", "--as", "USA", "--title", "Key no id", "--area", "crisis_management"]
    first = stack.ok(*propose, "--text", "x", "--key", "pk-1")
    again = stack.ok(*propose, "--text", "x", "--key", "pk-1")
    assert again == first and first["decision_id"].startswith("key-no-id-")
    listed = [d["decision_id"] for d in stack.ok("list")["decisions"]]
    assert [d for d in listed if d.startswith("key-no-id-")] == [first["decision_id"]]

    line = stack.fails(2, *propose, "--text", "another text", "--key", "pk-1")
    assert "idempotency_key" in line and "already used for another command" in line

    # A key names one command across decisions: on another decision it is refused, naming the
    # decision that holds it, and nothing is recorded there.
    elsewhere = stack.fails(2, *propose, "--id", "d-key-elsewhere", "--text", "x", "--key", "pk-1")
    assert f"idempotency_key: the key names a command on decision {first['decision_id']}" in (
        elsewhere
    )
    stack.proposed("d-key-second")
    concur = stack.fails(
        2, "withdraw", "d-key-second", "--as", "USA", "--reason", "r", "--key", "pk-1"
    )
    assert first["decision_id"] in concur
    assert "d-key-elsewhere" not in [d["decision_id"] for d in stack.ok("list")["decisions"]]
    assert [e["type"] for e in stack.ok("audit", "history", "d-key-second")["events"]] == [
        "ProposalSubmitted"
    ]
    assert "key" in stack.fails(2, *propose, "--text", "x", "--key", "k" * 201)


def test_renew_moves_a_decision_onto_a_new_run_and_refuses_one_that_ended(stack: Stack) -> None:
    stack.proposed("d-renewed")
    renewed = stack.ok("renew", "d-renewed")
    assert (renewed["run_number"], renewed["old_branches"]) == (2, [])
    assert stack.ok("status", "d-renewed")["version"] == 1
    stack.ok("withdraw", "d-renewed", "--as", "USA", "--reason", "Overtaken by events")
    assert "has ended" in stack.fails(4, "renew", "d-renewed")


def test_doctor_finds_a_closed_run_without_its_archive_and_repairs_it(stack: Stack) -> None:
    stack.proposed("d-doctor")
    stack.ok("withdraw", "d-doctor", "--as", "USA", "--reason", "Overtaken by events")
    database = stack.data_dir / "concord.db"
    archived: list[tuple[str]] = []
    for _ in range(100):
        with sqlite3.connect(database) as db:
            archived = db.execute(
                "SELECT run_id FROM workflow_histories WHERE decision_id = 'd-doctor'"
            ).fetchall()
        if archived:
            break
        time.sleep(0.2)
    [(run_id,)] = archived
    sound = stack.concord("doctor")
    assert sound.returncode == 0, sound.stdout
    assert "The log's head: position" in sound.stdout
    report = stack.ok("doctor")
    assert report["schema_revision"] == head_revision()
    assert report["settings"]["database"].endswith("concord.db")
    assert report["chain_head"]["position"] >= 2 and len(report["chain_head"]["hash"]) == 64
    assert set(report["projector_lag"]) == {
        "decisions",
        "merkle_tree",
        "notifications",
        "archivist",
    }, report["projector_lag"]
    assert all(
        0 <= lag <= report["chain_head"]["position"] for lag in report["projector_lag"].values()
    )
    assert report["projections_behind"] == []
    assert report["old_code"] == {}, "a decision started on this code keeps no old branch"
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM workflow_histories WHERE run_id = ?", (run_id,))

    found = stack.concord("doctor")
    assert found.returncode == 1
    assert f"not archived: d-doctor run {run_id} (completed)" in found.stdout
    repaired = stack.concord("doctor", "--repair", "--json")
    assert repaired.returncode == 0, repaired.stdout
    assert json.loads(repaired.stdout)["archived_now"] == [
        {"decision_id": "d-doctor", "run_id": run_id}
    ]
    again = stack.concord("doctor")
    assert again.returncode == 0 and "sound" in again.stdout


def test_a_stored_event_tampered_so_it_no_longer_applies_is_invalid_history_exit_1(
    stack: Stack, tmp_path: Path
) -> None:
    decision = "d-unapplied"
    stack.proposed(decision)
    stack.ok("refer", decision)
    stack.ok("review", decision, "--outcome", "forward")
    stack.ok("open-round", decision, "--deadline", "1h")
    stack.ok("concur", decision, "--as", "USA")
    copy, position = stack.tampered_copy(
        tmp_path,
        decision,
        "ConcurrenceRecorded",
        "UPDATE events SET body = CAST(replace(CAST(body AS TEXT), '\"round\":1', "
        "'\"round\":9') AS BLOB) WHERE position = ?",
    )

    history = stack.concord("audit", "history", decision, env=copy)
    verify = stack.concord("audit", "verify", env=copy)

    for result in (history, verify):
        assert result.returncode == 1, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert f"position {position}" in result.stderr
    assert "round 9" in history.stderr and "no_such_round" in history.stderr


def test_audit_verify_exits_1_and_names_the_first_tampered_position(
    stack: Stack, tmp_path: Path
) -> None:
    stack.proposed("d-tamper", text="Original text")
    history = stack.ok("audit", "history", "d-tamper")
    assert stack.ok("audit", "verify")["ok"] is True
    copy, position = stack.tampered_copy(
        tmp_path,
        "d-tamper",
        "ProposalSubmitted",
        "UPDATE events SET body = replace(body, 'Original', 'Forged') WHERE position = ?",
    )

    result = stack.concord("audit", "verify", env=copy)

    assert result.returncode == 1
    assert f"the log is broken at position {position} (malformed_body)" in result.stderr
    assert history["events"][0]["type"] == "ProposalSubmitted"
    assert stack.ok("audit", "verify")["ok"] is True  # the stack's own log is untouched


RESOLUTION = "Report \u202equarterly\u202c to the\u200b Ambassadors"
"""A resolution holding a right-to-left override and a zero-width space: stored as given."""


def test_status_text_and_export_show_the_texts_members_answer_and_all_that_was_said(
    stack: Stack, delegations: Delegations, tmp_path: Path
) -> None:
    stack.proposed("d-said", text="The first text.")
    stack.ok("refer", "d-said")
    stack.ok("review", "d-said", "--outcome", "forward")
    stack.ok("open-round", "d-said", "--deadline", "1h")
    stack.ok("concur", "d-said", "--as", "USA")
    stack.ok("object", "d-said", "--as", "RUS", "--reasons", "Too narrow")
    stack.ok("withdraw-objection", "d-said", "--as", "RUS")
    stack.ok("object", "d-said", "--as", "GBR", "--reasons", "Capitals disagree")
    stack.ok("close-round", "d-said", "--round", "1")
    stack.ok("review", "d-said", "--outcome", "amend", "--text", "The second text.")
    stack.ok("open-round", "d-said", "--deadline", "1h")
    assert delegations.all_concur("d-said", 2)[-1] == "DecisionAdopted"
    stack.ok("plan", "d-said", "--item", "A1:all:Joint assessment", "--report-back", "180d")
    stack.ok("report", "d-said", "--as", "RUS", "--item", "A1", "--summary", "Our part")
    stack.ok("raise-issue", "d-said", "--as", "POL", "--title", "Uneven contributions")
    stack.ok("resolve-issue", "d-said", "--issue", "1", "--text", RESOLUTION, "--deadline", "1h")
    stack.ok(
        "request-meeting", "d-said", "--as", "RUS", "--level", "foreign_ministers",
        "--reason", "Ministers must decide",
    )  # fmt: skip

    status = stack.ok("status", "d-said")
    assert (status["text"], status["revision"]) == ("The second text.", 2)
    first, second, on_issue = status["rounds"]
    assert (first["revision"], first["text"], first["objections"]) == (
        1, "The first text.", {"GBR": "Capitals disagree"}
    )  # fmt: skip
    [withdrawn] = first["withdrawn_objections"]
    assert (withdrawn["member"], withdrawn["reasons"]) == ("RUS", "Too narrow")
    assert "RUS" in first["silent"] and "USA" not in first["silent"]
    assert (second["revision"], second["text"]) == (2, "The second text.")
    assert (on_issue["issue"], on_issue["text"], on_issue["silent"]) == (1, RESOLUTION, None)
    resolution = status["implementation_issues"][0]["resolution"]
    assert (resolution["round"], resolution["text"]) == (3, RESOLUTION)
    assert resolution["text_hash"] == on_issue["text_hash"]
    said = {(e["actor"], e["event"], e["round"], e["item_id"], e["level"], e["text"])
            for e in status["said"]}  # fmt: skip
    assert {
        ("RUS", "SilenceBroken", 1, None, None, "Too narrow"),
        ("RUS", "ObjectionWithdrawn", 1, None, None, ""),
        ("RUS", "ProgressReported", None, "A1", None, "Our part"),
        ("RUS", "ExtraordinaryMeetingRequested", None, None, "foreign_ministers",
         "Ministers must decide"),
    } <= said  # fmt: skip

    shown = stack.concord("status", "d-said")
    assert shown.returncode == 0, shown.stderr
    assert "Report \\u202equarterly\\u202c to the\\u200b Ambassadors" in shown.stdout
    assert not any(c in shown.stdout for c in "\u202e\u202c\u200b")
    assert "RUS objected: Too narrow — withdrawn" in shown.stdout
    assert "      The first text." in shown.stdout, "round 1 is shown on the text it was on"
    assert "silent: " in shown.stdout
    assert "at the level of foreign_ministers requested by RUS" in shown.stdout
    assert "RUS ObjectionWithdrawn (round 1)" in shown.stdout
    assert "RUS ProgressReported (item A1): Our part" in shown.stdout

    answered = stack.ok("text", "d-said", "--round", "3")
    assert (answered["text"], answered["issue"]) == (RESOLUTION, 1)
    assert answered["text_hash"] == on_issue["text_hash"]
    assert stack.ok("text", "d-said", "--round", "1")["text"] == "The first text."
    printed = stack.concord("text", "d-said", "--round", "3")
    assert printed.returncode == 0, printed.stderr
    assert "Report \\u202equarterly\\u202c" in printed.stdout and "\u202e" not in printed.stdout
    assert "round 4" in stack.fails(4, "text", "d-said", "--round", "4")

    page = tmp_path / "d-said.html"
    exported = stack.concord("audit", "export", "d-said", "-o", str(page))
    assert exported.returncode == 0, exported.stderr
    html = page.read_text()
    assert (
        '<pre class="text">Report \\u202equarterly\\u202c to the\\u200b Ambassadors</pre>' in html
    )
    assert '<a href="#revision-1">revision 1</a>' in html


def test_a_request_for_ministers_is_on_the_foreign_ministers_agenda(stack: Stack) -> None:
    stack.proposed("d-ministers")
    stack.ok(
        "request-meeting", "d-ministers", "--as", "RUS", "--level", "foreign_ministers",
        "--reason", "Ministers must decide",
    )  # fmt: skip

    def requested(body: str) -> list[dict[str, Any]]:
        agenda = stack.ok("meetings", "agenda", body)["agenda"]
        return [
            i for i in agenda
            if i["decision_id"] == "d-ministers" and i["item"] == "extraordinary_request"
        ]  # fmt: skip

    deadline = time.monotonic() + 30  # the agenda is read from the read model, which follows
    while not requested("NRC-FM"):
        assert time.monotonic() < deadline, stack.ok("meetings", "agenda", "NRC-FM")
        time.sleep(0.5)
    [item] = requested("NRC-FM")
    assert item["detail"] == "request 1 by RUS: Ministers must decide"
    assert requested("NRC-AMB") == []


def test_the_list_fits_80_columns_and_never_breaks_an_id(stack: Stack) -> None:
    long_id = "d-an-action-plan-with-a-rather-long-id"
    stack.ok(
        "propose", "--id", long_id, "--as", "POL", "--area", "struggle_against_terrorism",
        "--title", "An Action Plan whose title is far too long for a column of a narrow table",
        "--text", "x",
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while long_id not in (ids := [d["decision_id"] for d in stack.ok("list")["decisions"]]):
        assert time.monotonic() < deadline, ids
        time.sleep(0.5)

    listed = stack.concord("list", env={**stack.env, "COLUMNS": "80"})

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, listed.stdout
    for decision_id in ids:
        assert any(decision_id in line for line in lines), (decision_id, listed.stdout)

    # An area the council does not have is refused, not answered with an empty list.
    unknown = stack.fails(2, "list", "--area", "arctic_shipping")
    assert "--area: 'arctic_shipping' is not an area of the council" in unknown
    assert long_id in [
        d["decision_id"]
        for d in stack.ok("list", "--area", "struggle_against_terrorism")["decisions"]
    ]


def test_the_demo_runs_the_seed_scenario_on_its_own_stack_and_leaves_an_auditable_log(
    tmp_path: Path,
) -> None:
    demo = Stack(tmp_path / "demo")

    result = demo.concord("demo")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Starting the embedded stack" in result.stdout
    # The decision's 60 events, a key for each of the 27 delegations, and the event that binds
    # the decision's archived history to the log.
    assert (
        "verified the whole hash chain: 88 events (the decision's 60, the key registry's 27, "
        "and 1 binding archived history)"
    ) in result.stdout
    # Every answer of a delegation in the scenario, signed by the delegation's own key.
    assert "verified 39 answers signed by their members, 0 unsigned" in result.stdout
    assert "events implied, the same as in the log" in result.stdout
    # The demo's stack is gone; what it leaves is audited from the store alone.
    assert demo.leftovers() == []
    [decision] = demo.ok("list")["decisions"]
    assert (decision["state"], decision["proposer"]) == ("completed", "POL")
    verified = demo.ok("audit", "verify")
    assert (verified["ok"], verified["events_checked"]) == (True, 88)
    assert (verified["answers_signed"], verified["answers_unsigned"]) == (39, 0)
    answers = demo.ok("audit", "answers", "--decision", decision["decision_id"])["answers"]
    assert len(answers) == 39 and {a["status"] for a in answers} == {"signed"}
    assert len({a["member"] for a in answers}) == 27, "each delegation signs with its own key"
    replayed = demo.ok("audit", "replay", decision["decision_id"])
    assert replayed["ok"] is True
    assert replayed["events_implied"] == replayed["events_stored"] == 60
