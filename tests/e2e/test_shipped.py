"""What ships is what is tested: the wheel, built from the tracked files and installed (not
editable) into a fresh virtual environment, runs each entry point as the image's unprivileged
user, in a directory it cannot write, with only the image's data directory writable."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ROOT
from tests.ports import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PACKAGES = ("domain", "workflows", "activities", "store", "audit", "runtime", "api", "cli")
DEVELOPMENT_ONLY = {"api/portal/babel.cfg"}
"""Tracked files under the packages that only developers use (`make messages`)."""


@dataclass(frozen=True)
class ImageLayout:
    """Where the image keeps what, and as whom it runs: read from the Dockerfile, the one
    description of it."""

    uid: int
    gid: int
    workdir: str
    data_dir: str

    @classmethod
    def of_dockerfile(cls) -> ImageLayout:
        text = (ROOT / "Dockerfile").read_text()
        final = text.rsplit("\nFROM ", 1)[1]
        user = re.search(r"^USER (\d+):(\d+)$", final, re.MULTILINE)
        workdir = re.search(r"^WORKDIR (\S+)$", final, re.MULTILINE)
        data_dir = re.search(r"CONCORD_DATA_DIR=(\S+)", final)
        assert user and workdir and data_dir, "the image names its user, workdir and data dir"
        assert f"VOLUME {data_dir[1]}" in final, "the data directory is the image's volume"
        return cls(int(user[1]), int(user[2]), workdir[1], data_dir[1])


@dataclass
class Installed:
    """The wheel in a fresh environment, and a root laid out as the image's file system."""

    wheel: Path
    venv: Path
    root: Path
    layout: ImageLayout
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def workdir(self) -> Path:
        return self.root / self.layout.workdir.lstrip("/")

    @property
    def data_dir(self) -> Path:
        return self.root / self.layout.data_dir.lstrip("/")

    def env(self, **settings: str) -> dict[str, str]:
        """The image's environment (nothing of the test's own), with `settings` on top."""
        return {
            "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            "CONCORD_LOG_FORMAT": "json",
            "CONCORD_DATA_DIR": str(self.data_dir),
            **{f"CONCORD_{name.upper()}": value for name, value in settings.items()},
        }

    def as_user(self, *command: str) -> list[str]:
        """`command` run as the image's user (the test runs as root) or as this one."""
        if os.geteuid() != 0:
            return list(command)
        uid, gid = str(self.layout.uid), str(self.layout.gid)
        return ["setpriv", "--reuid", uid, "--regid", gid, "--clear-groups", *command]

    def run(self, *command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.as_user(*command),
            env=env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    def start(self, name: str, *command: str, env: dict[str, str], ready: str) -> Path:
        """Start a long-running entry point; its log once it has logged `ready`."""
        log = self.root / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                self.as_user(*command),
                env=env,
                cwd=self.workdir,
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
            )
        self.started.append(process)
        deadline = time.monotonic() + 90
        while ready not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{name} did not start:\n{log.read_text()}")
            time.sleep(0.2)
        return log


def _bin(installed: Installed, name: str) -> str:
    return str(installed.venv / "bin" / name)


@pytest.fixture(scope="module")
def installed() -> Iterator[Installed]:
    root = Path(tempfile.mkdtemp(prefix="concord-shipped-"))
    root.chmod(0o755)  # the image's user traverses it to reach the environment
    try:
        source = root / "source"
        tracked = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
        for name in filter(None, tracked.split("\0")):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
        pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run(
            [*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(source)],
            check=True,
            capture_output=True,
        )
        [wheel] = (root / "dist").glob("concord_engine-*.whl")
        venv = root / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        python = str(venv / "bin" / "python")
        subprocess.run(
            [python, "-m", "pip", "--disable-pip-version-check", "-q", "install", str(wheel)],
            check=True,
            capture_output=True,
        )
        layout = ImageLayout.of_dockerfile()
        found = Installed(wheel, venv, root, layout)
        found.workdir.mkdir(parents=True)
        shutil.copy2(source / "worker.py", found.workdir / "worker.py")  # as the image does
        found.workdir.chmod(0o555)
        found.data_dir.mkdir(parents=True)
        found.data_dir.chmod(0o750)
        if os.geteuid() == 0:
            os.chown(found.data_dir, layout.uid, layout.gid)
        yield found
    finally:
        for process in found.started if "found" in locals() else []:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def test_the_wheel_holds_every_file_the_code_reads(installed: Installed) -> None:
    shipped = set(zipfile.ZipFile(installed.wheel).namelist())
    tracked = subprocess.run(
        ["git", "ls-files", *PACKAGES], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    missing = [name for name in tracked if name not in shipped and name not in DEVELOPMENT_ONLY]
    assert missing == [], f"tracked but not in the wheel: {missing}"
    assert "worker.py" in shipped
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in shipped)


def test_the_api_without_a_writable_data_dir_says_so_in_one_line(installed: Installed) -> None:
    env = installed.env()
    env["CONCORD_DATA_DIR"] = "var"  # the default, inside the read-only working directory
    failed = installed.run(_bin(installed, "concord"), "api", env=env)

    assert failed.returncode == 2, failed.stderr
    [line] = failed.stderr.strip().splitlines()
    assert line.startswith("concord: invalid input: CONCORD_PORTAL_KEY_FILE: the portal key")
    assert "Permission denied" in line


def test_every_entry_point_runs_as_the_images_user_with_only_its_data_dir_writable(
    installed: Installed,
) -> None:
    # The Web UI's port is the frontend's + 1000, which free_port leaves free too.
    temporal, api, second_api = free_port(), free_port(), free_port()
    env = installed.env(
        temporal_address=f"127.0.0.1:{temporal}",
        api_port=str(api),
        operator="secretariat",
        log_origin="nrc.example/concord",
    )
    concord = _bin(installed, "concord")

    keygen = installed.run(concord, "audit", "keygen", env=env)
    assert keygen.returncode == 0, keygen.stderr
    dev = installed.start("dev", concord, "dev", env=env, ready='"event": "stack ready"')
    proposed = installed.run(
        concord, "propose", "--id", "d-shipped", "--as", "POL", "--title", "Shipped",
        "--area", "crisis_management", "--text", "As installed.", "--json", env=env,
    )  # fmt: skip
    assert proposed.returncode == 0, proposed.stderr
    issued = installed.run(concord, "tokens", "issue", "--auditor", "aud", "--json", env=env)
    assert issued.returncode == 0, issued.stderr
    token = json.loads(issued.stdout)["token"]

    with httpx.Client(base_url=f"http://127.0.0.1:{api}", timeout=10) as http:
        for language, sign_in in (("en", "Sign in"), ("fr", "Se connecter"), ("ru", "Войти")):
            page = http.get("/portal/sign-in", headers={"Accept-Language": language})
            assert page.status_code == 200, (language, page.text[:300])
            assert f'<html lang="{language}" ' in page.text and sign_in in page.text
        # The pages' stylesheet and its licence come with the wheel, nothing from outside.
        styles = http.get("/portal/static/portal.css")
        assert styles.status_code == 200 and ".govuk-button" in styles.text
        assert http.get("/portal/static/govuk-frontend-LICENSE.txt").status_code == 200
        auditor = {"Authorization": f"Bearer {token}"}
        # The tree is stored by the projector as it follows the log: the proposal's event is
        # in the checkpoint once the projector has taken it, within moments.
        deadline = time.monotonic() + 20
        while True:
            checkpoint = http.get("/log/checkpoint", headers=auditor)
            assert checkpoint.status_code == 200, checkpoint.text
            assert checkpoint.text.startswith("nrc.example/concord\n")
            size = int(checkpoint.text.splitlines()[1])
            if size >= 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert size >= 1, "the proposal's event never reached the signed checkpoint"
        tile = http.get(f"/log/tile/0/000.p/{min(size, 255)}", headers=auditor)
        assert tile.status_code == 200, tile.text
        assert len(tile.content) == 32 * min(size, 255)

    worker = installed.start(
        "worker", _bin(installed, "python"), "worker.py", env=env, ready="worker running"
    )
    standby = installed.start(
        "projector", concord, "project", env=env, ready='"event": "projector running"'
    )
    alone = env | {"CONCORD_API_PORT": str(second_api)}
    installed.start("api", concord, "api", env=alone, ready='"event": "api running"')
    ready = httpx.get(f"http://127.0.0.1:{second_api}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text

    doctor = installed.run(concord, "doctor", env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "sound" in doctor.stdout

    for process in reversed(installed.started):
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, process.args
    for log in (dev, worker, standby):
        assert "Traceback" not in log.read_text()
    assert sorted(p.name for p in installed.workdir.iterdir()) == ["worker.py"]
