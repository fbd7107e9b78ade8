"""The error tree: each class's exit code, status and line; its lossless trip across Temporal."""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from cli.app import invoke
from domain.errors import (
    ERROR_CLASSES,
    AuditFailed,
    ConcordError,
    Conflict,
    Fault,
    Forbidden,
    InvalidHistory,
    InvalidInput,
    NotFound,
    Refusal,
    Rule,
    Unauthenticated,
    Unavailable,
)
from workflows.failures import from_failure, to_failure

EXAMPLES: list[ConcordError] = [
    InvalidInput("deadline", "not an instant"),
    Refusal(Rule.NO_OPEN_ROUND, "round 1 is closed (failed)", round=1),
    NotFound("no decision d-1"),
    Unavailable("the event store cannot be reached"),
    Conflict("another writer stored version 3 first"),
    InvalidHistory("decision d-1, event X at version 3 cannot follow its history"),
    AuditFailed("the log is broken at position 7 (hash_mismatch)"),
    Fault("the command failed without a refusal"),
    Unauthenticated("the access token 3f2a was revoked"),
    Forbidden("member RUS acts only in its own name, not as USA"),
    Refusal(Rule.ALREADY_CONCURRED, "BEL has already concurred in round 2", member="BEL", round=2),
]


def test_every_class_of_the_tree_has_an_example_here() -> None:
    assert {type(e).__name__ for e in EXAMPLES} == set(ERROR_CLASSES) - {"ConcordError"}


@pytest.mark.parametrize(
    ("error", "code", "status", "line"),
    [
        (EXAMPLES[0], 2, 422, "invalid input: deadline: not an instant"),
        (EXAMPLES[1], 3, 409, "refused (no_open_round): round 1 is closed (failed)"),
        (EXAMPLES[2], 4, 404, "not found: no decision d-1"),
        (EXAMPLES[3], 5, 503, "unavailable: the event store cannot be reached"),
        (EXAMPLES[4], 6, 409, "conflict: another writer stored version 3 first"),
        (EXAMPLES[5], 1, 500, "invalid history: decision d-1, event X at version 3 cannot"),
        (EXAMPLES[6], 1, 500, "audit failed: the log is broken at position 7"),
        (EXAMPLES[7], 70, 500, "failed: the command failed without a refusal"),
        (EXAMPLES[8], 77, 401, "unauthenticated: the access token 3f2a was revoked"),
        (EXAMPLES[9], 77, 403, "forbidden: member RUS acts only in its own name"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, ConcordError) else None,
)
def test_each_error_carries_its_exit_code_status_and_one_line(
    error: ConcordError, code: int, status: int, line: str
) -> None:
    assert (error.exit_code, error.http_status) == (code, status)
    assert error.line().startswith(line)
    assert "\n" not in error.line()


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_an_error_crosses_temporal_as_the_same_class_rule_field_and_message(
    error: ConcordError,
) -> None:
    failure = to_failure(error)
    # What a caller receives: the failure wrapped in an update's or an activity's failure.
    update = WorkflowUpdateFailedError(failure)
    activity = ActivityError(
        "activity failed",
        scheduled_event_id=1,
        started_event_id=2,
        identity="w",
        activity_type="t",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    activity.__cause__ = failure

    for received in (failure, update, activity):
        rebuilt = from_failure(received)
        assert type(rebuilt) is type(error)
        assert rebuilt is not None and rebuilt.details() == error.details()
        if isinstance(error, Refusal):  # its particulars too, for a page to word them
            assert isinstance(rebuilt, Refusal) and rebuilt.params == error.params
    assert failure.non_retryable and not to_failure(error, retryable=True).non_retryable


def test_a_failure_that_names_no_error_of_the_tree_is_not_rebuilt_as_one() -> None:
    assert from_failure(ApplicationError("boom", type="ZeroDivisionError")) is None
    assert from_failure(ApplicationError("boom", {"rule": "no_such_rule"}, type="Refusal")) is None
    assert from_failure(ApplicationError("boom", type="Refusal")) is None
    assert from_failure(RuntimeError("a defect")) is None


def test_the_cli_prints_one_line_and_exits_with_the_class_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert invoke(["status", "d-1", "--json", "--bogus"]) == 2
    assert invoke(["propose", "--id", "d-1", "--as", "USA", "--title", "t", "--area", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith("concord: ") for line in err)


def test_with_json_an_error_is_also_one_document_on_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert invoke(["open-round", "d-1", "--deadline", "soon", "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        "error": {
            "code": "invalid_input",
            "message": "deadline: 'soon' is neither a duration (72h) nor an ISO-8601 instant "
            "(2026-12-01T12:00:00Z)",
            "field": "deadline",
        }
    }
    assert err.startswith("concord: invalid input: deadline:")
    assert Refusal(Rule.NO_OPEN_ROUND, "closed").document()["error"]["code"] == "no_open_round"
