"""Structured logging with structlog: console on a terminal, JSON lines otherwise.

Concord's own records (structlog's loggers) are rendered by structlog and written as one line
to the handler `configure_logging` installs, under that handler's lock; the standard library's
records (Temporal's SDK, uvicorn, SQLAlchemy) reach the same handler through `logging` and are
rendered alike. Concord's records skip the standard library's machinery (a LogRecord, its
handlers, a formatter): the API writes one at every request, and that machinery cost a fifth
of what the API spent on a request.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import structlog


class Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler of the root logger: the standard library's records, formatted, and
    Concord's, already rendered, written to the same stream under the same lock."""

    def write_line(self, line: str) -> None:
        with self.lock:  # type: ignore[union-attr]
            self.stream.write(line + self.terminator)
            self.flush()


class Lines:
    """A structlog logger that hands each rendered record to the installed Handler; while none
    is installed (a test cleared the root's handlers), a record goes nowhere."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        """Read by structlog's `add_logger_name`."""

    def msg(self, line: str) -> None:
        for handler in logging.root.handlers:
            if isinstance(handler, Handler):
                handler.write_line(line)

    debug = info = warning = warn = error = err = critical = exception = fatal = msg


def _lines(*names: Any) -> Lines:
    return Lines(str(names[0]) if names else "")


def configure_logging(
    log_format: Literal["auto", "console", "json"] = "auto", level: int = logging.INFO
) -> bool:
    """Configure structlog and the standard library's logging to emit one format; True when
    that format is JSON lines (asked for, or `auto` and stderr is not a terminal)."""
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # A traceback is part of its record: one JSON line, never loose lines.
    tracebacks: list[structlog.typing.Processor] = (
        [structlog.processors.dict_tracebacks] if as_json else []
    )
    structlog.configure(
        processors=[*shared, *tracebacks, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_lines,
        cache_logger_on_first_use=True,
    )
    handler = Handler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *tracebacks,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("temporalio").setLevel(logging.WARNING)
    return as_json
