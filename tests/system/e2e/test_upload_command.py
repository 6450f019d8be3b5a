"""``trapline upload DIR``: good files stored, the rest explained, and a second run resumes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.processes import clean_env, running, trapline_command
from trapline.imaging.samples import write_sample_photos

pytestmark = pytest.mark.slow


def _upload(url: str, token: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        trapline_command("upload", *args, "--api-url", url, "--token", token),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=clean_env(),
        timeout=300,
    )


def _counts(stderr: str) -> tuple[int, ...]:
    found = re.search(
        r"(\d+) uploaded, (\d+) already there, (\d+) refused, (\d+) failed, (\d+) not images",
        stderr,
    )
    assert found, stderr
    return tuple(int(n) for n in found.groups())


def test_upload_a_folder_then_resume(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    top = write_sample_photos(photos, 5, width=320)
    # Two more in a sub-folder (the 6th and 7th of a series: other bytes than the top's).
    for path in write_sample_photos(photos / "night2", 7, width=320)[:5]:
        path.unlink()
    (photos / "notes.txt").write_text("trap emptied at 6am\n")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a photo")
    (photos / ".DS_Store").write_bytes(b"\0")
    with running(["up"], cwd=tmp_path, env=clean_env()) as server:
        token = (tmp_path / "trapline-data" / "admin-token").read_text().strip()
        headers = {"Authorization": f"Token {token}"}
        api = f"{server.url}/api/v2"
        project = httpx.post(f"{api}/projects/", json={"name": "p"}, headers=headers).json()["id"]
        trap = httpx.post(
            f"{api}/projects/{project}/deployments/", json={"name": "t"}, headers=headers
        ).json()["id"]
        # One photo is there already.
        with top[0].open("rb") as handle:
            first = httpx.post(
                f"{api}/projects/{project}/images/", files={"files": handle}, headers=headers
            )
        assert first.status_code == 201

        args = (str(photos), "--project", str(project), "--deployment", str(trap))
        flat = _upload(server.url, token, *args, cwd=tmp_path)
        assert flat.returncode == 0, flat.stderr
        # 5 photos and broken.jpg at the top; notes.txt is no image; .DS_Store is hidden.
        assert _counts(flat.stderr) == (4, 1, 1, 0, 1)
        assert "refused " in flat.stderr
        assert "broken.jpg" in flat.stderr
        assert "Traceback" not in flat.stderr

        deep = _upload(server.url, token, *args, "--recursive", "--threads", "3", cwd=tmp_path)
        assert deep.returncode == 0, deep.stderr
        assert _counts(deep.stderr) == (2, 5, 1, 0, 1)
        listed = httpx.get(f"{api}/projects/{project}/images/?limit=100", headers=headers).json()
        assert listed["count"] == 7
        deployments = sorted(listed["results"], key=lambda i: i["deployment_id"] or 0)
        assert [i["deployment_id"] for i in deployments] == [None] + [trap] * 6

    # The server is gone: a clear error, not a traceback.
    gone = _upload(server.url, token, *args, cwd=tmp_path)
    assert gone.returncode == 1
    assert gone.stderr.startswith("error: cannot reach")
