"""`trapline up`, `serve` and `admin` as a user runs them: real processes over HTTP."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.moto import free_port
from tests.support.processes import Server, clean_env, running, trapline_command
from trapline import __version__

pytestmark = pytest.mark.slow

#: Log lines ``trapline up --demo`` may print before its summary box on a first run.
MOST_LINES_BEFORE_THE_BOX = 12


def test_version() -> None:
    out = subprocess.run(trapline_command("--version"), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"trapline {__version__}"


def test_up_demo_first_run_then_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running(["up", "--demo", "--data-dir", str(data)], cwd=tmp_path) as server:
        token_file = data / "admin-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert token in _wait_for_line(server, "admin token: ")  # printed once, on first run
        headers = {"Authorization": f"Token {token}"}
        projects = httpx.get(f"{server.url}/api/v2/projects/", headers=headers).json()
        demo = projects["results"][0]
        assert demo["image_count"] == 12
        images = httpx.get(
            f"{server.url}/api/v2/projects/{demo['id']}/images/?limit=100", headers=headers
        ).json()
        assert images["count"] == 12
        assert all(i["captured_at"] for i in images["results"])
        thumb = httpx.get(
            f"{server.url}/api/v2/images/{images['results'][0]['id']}/thumbnail?size=256",
            headers=headers,
            follow_redirects=True,
        )
        assert thumb.status_code == 200
        assert thumb.headers["content-type"] == "image/jpeg"
        # The embedded worker ran moth-blobs over the demo images; a summary was printed.
        summary = _wait_for_line(server, "demo job ")
        # The web app's sign-in: printed once, saved beside the token, ends the summary.
        password_file = data / "admin-password"
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        assert password_file.read_text().strip() in server.log()
        web = _wait_for_line(server, "web app: ")
        # Before the box, what a person needs: the database, the demo project, the worker and
        # the demo job; no library's narration, no line per request or result post. (The
        # worker's progress, a line every 10 s, is as long as the machine is slow.)
        before_box = [
            line
            for line in server.log().split("\n+---")[0].splitlines()
            if " images processed (" not in line
        ]
        assert len(before_box) <= MOST_LINES_BEFORE_THE_BOX, "\n".join(before_box)
        assert f"{server.url}/projects/{demo['id']}" in web
        assert "sign in as admin@localhost" in web
        assert "(moth-blobs) succeeded: 12 images" in summary
        detections = int(summary.split(" images, ")[1].split(" detections")[0])
        assert detections >= 12  # every generated photo has insects on it
        job_id = summary.split("demo job ")[1].split(" ")[0]
        job = httpx.get(f"{server.url}/api/v2/jobs/{job_id}/", headers=headers).json()
        assert job["counts"]["succeeded"] == 12
        assert server.stop(signal.SIGINT) == 0

    with running(["up", "--demo", "--data-dir", str(data)], cwd=tmp_path) as again:
        listed = httpx.get(f"{again.url}/api/v2/projects/", headers=headers).json()
        assert listed["count"] == 1
        # The demo job is not run twice: the restart summarises the first one.
        assert f"demo job {job_id} (moth-blobs) succeeded" in _wait_for_line(again, "demo job ")
        log = again.log()
        assert token not in log
        assert "admin-token" in _wait_for_line(again, "admin token: ")
        assert "already there" in log


def _wait_for_line(server: Server, start: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.log().splitlines():
            line = line.strip("| ")  # the summary is printed in a box
            if line.startswith(start):
                return line
        time.sleep(0.2)
    raise AssertionError(f"no line starting {start!r}:\n{server.log()}")


def test_admin_commands_print_only_the_token(tmp_path: Path) -> None:
    env = clean_env(TRAPLINE_DATA_DIR=str(tmp_path / "d"))
    subprocess.run(trapline_command("migrate"), env=env, cwd=tmp_path, check=True)
    made = subprocess.run(
        trapline_command("admin", "create-user", "--email", "ops@example.org", "--admin"),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    assert made.stdout == ""
    assert "ops@example.org" in made.stderr
    token = subprocess.run(
        trapline_command("admin", "create-token", "--email", "ops@example.org", "--name", "ci"),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout
    assert token.count("\n") == 1
    assert token.startswith("tl_")
    missing = subprocess.run(
        trapline_command("admin", "create-token", "--email", "nobody@example.org"),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert "nobody@example.org" in missing.stderr
    assert "Traceback" not in missing.stderr

    # The flag and the variable are the same setting: serve finds the user made above.
    with running(["serve", "--data-dir", str(tmp_path / "d")], cwd=tmp_path) as server:
        me = httpx.get(
            f"{server.url}/api/v2/users/me", headers={"Authorization": f"Token {token.strip()}"}
        )
        assert me.json()["email"] == "ops@example.org"


def test_bad_settings_are_reported_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        trapline_command("migrate"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(TRAPLINE_PORT="not-a-port", TRAPLINE_DATA_DIR=str(tmp_path)),
    )
    assert result.returncode == 2
    assert "port" in result.stderr.lower()
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_a_database_that_does_not_answer_is_one_line_naming_it(
    tmp_path: Path, command: str
) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://postgres:hidden-pw@127.0.0.1:{port}/nowhere"
    result = subprocess.run(
        trapline_command(command, "--database-url", url, "--data-dir", str(tmp_path)),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: the database at postgresql+psycopg://postgres:***@127.0.0.1:{port}/nowhere "
        "did not answer: "
    ), result.stderr
    assert "Connection refused" in result.stderr
    assert "hidden-pw" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_json_logs_carry_the_request_id(tmp_path: Path) -> None:
    env = clean_env(TRAPLINE_LOG_FORMAT="json", TRAPLINE_DATA_DIR=str(tmp_path / "d"))
    with running(["serve"], cwd=tmp_path, env=env) as server:
        answer = httpx.get(f"{server.url}/api/v2/projects/", headers={"X-Request-ID": "trace-42"})
        assert answer.status_code == 401
        assert answer.headers["x-request-id"] == "trace-42"
        server.stop()
        lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    access = [e for e in lines if e.get("request_id") == "trace-42"]
    assert access
    assert access[0]["status"] == 401
    assert access[0]["path"] == "/api/v2/projects/"
    assert all({"ts", "level", "logger", "message"} <= set(e) for e in lines)
