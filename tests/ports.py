"""Ports for the servers tests start, none of which another test process can be handed.

A port the system hands out (binding port 0) comes from the ephemeral range, where the Temporal
dev server also takes the ports of its own services, and where a second test process (pytest-xdist
runs two) is handed ports too: between the moment a test learns a port is free and the moment its
server binds it, another server could take it. So each test process counts through a band of
its own below the ephemeral range instead, and skips any port something already listens on.
"""

from __future__ import annotations

import itertools
import os
import socket
from typing import Final

FIRST: Final = 12000
"""The first band's first port: above the well-known services' ports this suite meets."""
BAND: Final = 2400
"""Ports per test process. A port picked lies in the band's first PICKED ports; the Temporal dev
server's Web UI takes the frontend's port + 1000, which stays inside the band too."""
PICKED: Final = 1200
EPHEMERAL_FLOOR: Final = 32768
"""Linux's default first ephemeral port (`net.ipv4.ip_local_port_range`)."""


def _band_start() -> int:
    """This process's band: pytest-xdist names its workers gw0, gw1, …; a run without workers
    takes the first band."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    number = int(worker.removeprefix("gw")) if worker.removeprefix("gw").isdigit() else 0
    start = FIRST + number * BAND
    if start + BAND > EPHEMERAL_FLOOR:
        raise RuntimeError(f"pytest-xdist worker {worker} has no port band below {EPHEMERAL_FLOOR}")
    return start


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


_START: Final = _band_start()
_NEXT: Final = itertools.cycle(range(_START, _START + PICKED))


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now, nor on the port 1000 above it (a Temporal dev
    server's Web UI), which this process has not handed out in its last PICKED picks and no other
    test process will hand out."""
    for _ in range(PICKED):
        port = next(_NEXT)
        if _is_free(port) and _is_free(port + 1000):
            return port
    raise RuntimeError(f"no free port left in {_START}-{_START + PICKED - 1}")
