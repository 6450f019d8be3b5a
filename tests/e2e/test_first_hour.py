"""What a newcomer meets starting trapline: a busy port, admin commands run from another folder,
and output a person can read."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import clean_env, trapline_command

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


@pytest.mark.parametrize("command", [["up", "--demo"], ["serve"]])
def test_a_busy_port_fails_first_and_says_how_to_pick_another(
    tmp_path: Path, busy_port: int, command: list[str]
) -> None:
    data = tmp_path / "data"
    done = subprocess.run(
        trapline_command(*command, "--data-dir", str(data), "--port", str(busy_port)),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(f"error: port {busy_port} on 127.0.0.1 is already in use")
    for way in ("--port N", "TRAPLINE_PORT=N", "make demo PORT=N"):
        assert way in done.stderr
    assert "Traceback" not in done.stderr
    # Nothing was made or printed before the bind: no token, no database, no demo project.
    assert done.stdout == ""
    assert "token" not in done.stderr
    assert not data.exists()


def test_make_demo_takes_a_port() -> None:
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(REPO), "demo", "PORT=8001"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert dry.stdout.rstrip().splitlines()[-1].endswith("trapline up --demo --port 8001")
