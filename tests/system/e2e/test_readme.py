"""The README's shell blocks run as written, in order, against a fresh ``trapline up --demo``.

The test does what ``make demo`` does (``trapline up --demo`` in a fresh folder, so the data dir
is ``./trapline-data``) and substitutes only what the README tells the reader to: the port, when
8000 is taken. Blocks that run ``make`` are the test's own set-up and are not run again. The
folder gets a ``.venv/bin/activate`` that puts this interpreter's ``trapline`` and ``python`` on
the PATH, as the venv ``make demo`` creates does.
"""

from __future__ import annotations

import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.processes import clean_env, running

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[3] / "README.md"
_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)


def shell_blocks(text: str) -> list[str]:
    """The README's ``sh`` blocks, in order, without those that run ``make``."""
    blocks = _BLOCK.findall(text)
    return [b for b in blocks if not re.search(r"^make ", b, re.MULTILINE)]


def _fake_venv(folder: Path) -> None:
    bin_dir = folder / "shim-bin"
    bin_dir.mkdir()
    for name, command in (
        ("trapline", f'exec "{sys.executable}" -m trapline.cli "$@"'),
        ("python", f'exec "{sys.executable}" "$@"'),
    ):
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{command}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    activate = folder / ".venv" / "bin" / "activate"
    activate.parent.mkdir(parents=True)
    activate.write_text(f'export PATH="{bin_dir}:$PATH"\n')


def test_the_blocks_are_found() -> None:
    blocks = shell_blocks(README.read_text())
    assert len(blocks) >= 2
    assert "make demo" in README.read_text()
    assert all("make " not in b.splitlines()[0] for b in blocks)


@pytest.mark.timeout(600)
def test_readme_commands_run_as_written(tmp_path: Path) -> None:
    _fake_venv(tmp_path)
    with running(["up", "--demo"], cwd=tmp_path, env=clean_env()) as server:
        port = server.url.rsplit(":", 1)[1]
        script = "\n".join(shell_blocks(README.read_text()))
        script = script.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        # Fail on the first command that fails, and on any HTTP error answer (curl -s alone
        # would carry on): the README's commands must all succeed, not merely run.
        prelude = (
            "set -euo pipefail\n"
            'curl() { command curl --show-error --fail-with-body --max-time 60 "$@"; echo; }\n'
        )
        done = subprocess.run(
            ["bash", "-c", prelude + script + '\necho "JOB=$JOB IMAGE=$IMAGE"\n'],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        assert (tmp_path / "original.jpg").read_bytes()[:2] == b"\xff\xd8"
        assert (tmp_path / "thumb.jpg").read_bytes()[:2] == b"\xff\xd8"
        ids = dict(re.findall(r"(JOB|IMAGE)=(\d+)", done.stdout.splitlines()[-1]))
        token = (tmp_path / "trapline-data" / "admin-token").read_text().strip()
        headers = {"Authorization": f"Token {token}"}
        # The walk-through's job is not the demo's, and it runs to the end.
        assert ids["JOB"] != "1"
        job = _wait_for_end(server.url, headers, ids["JOB"])
        assert job["status"] == "succeeded", job
        assert job["counts"]["succeeded"] == 4


def _wait_for_end(url: str, headers: dict[str, str], job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, object] = httpx.get(f"{url}/api/v2/jobs/{job_id}/", headers=headers).json()
        if job["status"] in ("succeeded", "completed_with_errors", "failed", "canceled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
