"""What a newcomer meets starting trapline: a busy port, admin commands run from another folder,
and output a person can read."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import Server, clean_env, running, trapline_command

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]


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


def _admin(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        trapline_command("admin", *args), capture_output=True, text=True, cwd=cwd, env=env
    )


def test_admin_commands_never_create_a_database(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = clean_env()
    # Run from a folder with no trapline-data: the user's database is somewhere else.
    done = _admin(elsewhere, env, "create-service-token", "--project", "2", "--name", "gpu")
    assert done.returncode == 1
    expected = elsewhere / "trapline-data" / "trapline.db"
    assert done.stderr.startswith(f"error: no trapline database at {expected} (SQLite)")
    assert "trapline migrate" in done.stderr
    assert "--data-dir" in done.stderr
    assert done.stdout == ""
    assert not (elsewhere / "trapline-data").exists()

    # Once made (migrate, up or serve make databases), the commands use it and say which it is.
    made = subprocess.run(
        trapline_command("migrate"), capture_output=True, text=True, cwd=elsewhere, env=env
    )
    assert made.returncode == 0, made.stderr
    user = _admin(elsewhere, env, "create-user", "--email", "ops@example.org")
    assert user.returncode == 0, user.stderr
    assert str(expected) in user.stderr
    # An error about what the database holds names the database too.
    missing = _admin(elsewhere, env, "create-service-token", "--project", "2", "--name", "gpu")
    assert missing.returncode == 1
    assert "project 2" in missing.stderr
    assert str(expected) in missing.stderr


def test_admin_commands_refuse_an_empty_postgresql_database(tmp_path: Path) -> None:
    from tests.support.databases import admin_execute, database_url_for, require_postgres

    require_postgres()
    name = f"trapline_empty_{uuid.uuid4().hex[:10]}"
    admin_execute(f'CREATE DATABASE "{name}"')
    try:
        env = clean_env(
            TRAPLINE_DATABASE_URL=database_url_for(name), TRAPLINE_DATA_DIR=str(tmp_path / "d")
        )
        done = _admin(tmp_path, env, "create-user", "--email", "ops@example.org")
        assert done.returncode == 1
        assert "holds no trapline data" in done.stderr
        assert name in done.stderr
        assert "trapline migrate" in done.stderr
    finally:
        admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_up_prints_its_summary_last_and_keeps_worker_polls_quiet(tmp_path: Path) -> None:
    with running(["up", "--demo"], cwd=tmp_path, env=clean_env()) as server:
        box = _wait_for_box(server)
        assert "trapline is running at " + server.url in box
        token = (tmp_path / "trapline-data" / "admin-token").read_text().strip()
        assert f"admin token: {token}" in box
        assert "demo job 1 (moth-blobs) succeeded: 12 images" in box
        assert "/api/v2/docs" in box
        headers = {"Authorization": f"Token {token}"}
        api = f"{server.url}/api/v2"
        # A worker's poll and a health check are routine; a failing poll and a person's
        # request are logged.
        poll = httpx.get(f"{api}/jobs/?ids_only=1&pipeline__slug__in=moth-blobs", headers=headers)
        assert poll.status_code == 200
        assert httpx.get(f"{server.url}/livez").status_code == 200
        bad = httpx.post(f"{api}/tasks/next/", json={}, headers={"Authorization": "Token nope"})
        assert bad.status_code == 401
        assert httpx.get(f"{api}/projects/", headers=headers).status_code == 200
        after = _wait_for(server, "GET /api/v2/projects/ 200").split(box, 1)[1]
        assert "POST /api/v2/tasks/next/ 401" in after
        access = [line for line in after.splitlines() if "trapline.access" in line]
        # The embedded worker polled all along (it serves moth-blobs), unlogged.
        assert len(access) == 2, after
        assert "pipeline__slug__in" not in after
        assert "/livez" not in after


def _wait_for(server: Server, text: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while text not in (log := server.log()):
        assert time.monotonic() < deadline, f"no {text!r} in:\n{log}"
        assert server.process.poll() is None, log
        time.sleep(0.2)
    return log


def _wait_for_box(server: Server) -> str:
    log = _wait_for(server, "| Ctrl-C stops trapline")
    lines = log.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("| Ctrl-C"))
    start = max(i for i, line in enumerate(lines[:end]) if line.startswith("+-"))
    assert lines[end + 1].startswith("+-")
    return "\n".join(lines[start : end + 2])
