"""Logs are one format: in JSON, a record with its traceback is still one line."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from runtime.devserver import relay_line
from runtime.logging import configure_logging


def test_a_logged_exception_is_one_json_line_with_its_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json")
    try:
        try:
            raise ValueError("the relay refused")
        except ValueError:
            logging.getLogger("concord.test").exception("notification failed")
        lines = capsys.readouterr().err.strip().splitlines()
    finally:
        logging.getLogger().handlers.clear()

    [line] = lines
    record = json.loads(line)
    assert record["event"] == "notification failed"
    assert record["exception"][0]["exc_value"] == "the relay refused"


def test_the_temporal_servers_lines_become_records_of_the_same_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server_line = json.dumps(
        {
            "time": "2026-11-26T00:07:33.458Z",
            "level": "WARN",
            "msg": "history client unreachable",
            "service": "frontend",
            "logger": "go",
        }
    )
    configure_logging("json")
    try:
        relay_line(server_line + "\n")
        relay_line("Temporal Server:      localhost:7233\n")
        relay_line("   \n")
        lines = capsys.readouterr().err.strip().splitlines()
    finally:
        logging.getLogger().handlers.clear()

    warning, banner = (json.loads(line) for line in lines)
    assert warning["event"] == "history client unreachable" and warning["level"] == "warning"
    assert warning["logger"] == "temporal.server" and warning["server_logger"] == "go"
    assert warning["service"] == "frontend"
    assert warning["server_time"] == "2026-11-26T00:07:33.458Z"
    assert banner["event"] == "Temporal Server:      localhost:7233"
    assert (banner["level"], banner["logger"]) == ("info", "temporal.server")


def test_concord_records_and_the_standard_librarys_are_one_format_on_one_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = structlog.get_logger("concord.test.records")
    configure_logging("json")
    try:
        log.info("api request", status=201, principal="member:POL")
        log.debug("not at this level")
        logging.getLogger("uvicorn.error").warning("a foreign record")
        first = capsys.readouterr().err.strip().splitlines()

        logging.getLogger().handlers.clear()  # the logger, cached on first use, writes nowhere
        log.info("lost with no handler")
        assert capsys.readouterr().err == ""

        configure_logging("json")  # and to the handler installed now
        log.info("again")
        second = capsys.readouterr().err.strip().splitlines()
    finally:
        logging.getLogger().handlers.clear()

    ours, foreign = (json.loads(line) for line in first)
    assert ours["event"] == "api request" and ours["status"] == 201
    assert (ours["level"], ours["logger"]) == ("info", "concord.test.records")
    assert (foreign["level"], foreign["logger"]) == ("warning", "uvicorn.error")
    assert sorted(ours) == sorted(["event", "level", "logger", "timestamp", "status", "principal"])
    assert set(foreign) == {"event", "level", "logger", "timestamp"}
    [again] = (json.loads(line) for line in second)
    assert again["event"] == "again"
