"""Logs are one format: in JSON, a record with its traceback is still one line."""

from __future__ import annotations

import json
import logging

import pytest

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
