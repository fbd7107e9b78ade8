"""A reader that goes away early (`concord roster show | head -1`) ends the command quietly with
exit 0: what it read is all it wanted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONCORD = str(Path(sys.executable).parent / "concord")


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    env = {**os.environ, "CONCORD_DATA_DIR": str(tmp_path)}
    subprocess.run([CONCORD, "db", "upgrade"], env=env, check=True, capture_output=True)
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written
    try:
        done = subprocess.run(
            [CONCORD, "roster", "show"],
            stdout=write,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
        )
    finally:
        os.close(write)
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr
