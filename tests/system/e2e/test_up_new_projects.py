"""A project made while `trapline up` runs can use the built-in pipelines at once."""

from __future__ import annotations

import io
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.support.processes import clean_env, running, trapline_command

pytestmark = pytest.mark.slow


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 200, 190)).save(out, "JPEG")
    return out.getvalue()


def test_a_new_project_runs_a_built_in_pipeline_without_waiting(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = clean_env(TRAPLINE_DATA_DIR=str(data))
    with running(["up", "--data-dir", str(data)], cwd=tmp_path, env=env) as server:
        # A person who is not an admin, with a token of their own.
        subprocess.run(
            trapline_command("admin", "create-user", "--email", "ana@example.org"),
            env=env, cwd=tmp_path, check=True, capture_output=True,
        )  # fmt: skip
        token = subprocess.run(
            trapline_command("admin", "create-token", "--email", "ana@example.org"),
            env=env, cwd=tmp_path, check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        with httpx.Client(
            base_url=f"{server.url}/api/v2", headers={"Authorization": f"Token {token}"}
        ) as api:
            for attempt in range(3):  # the embedded worker's timer never gets a chance to help
                project = api.post("/projects/", json={"name": f"station {attempt}"}).json()
                uploaded = api.post(
                    f"/projects/{project['id']}/images/",
                    files={"files": ("a.jpg", _photo(), "image/jpeg")},
                )
                assert uploaded.status_code == 201, uploaded.text
                job = api.post(
                    "/jobs/", json={"project_id": project["id"], "pipeline": "moth-blobs"}
                )
                assert job.status_code == 201, job.text
            deadline = time.monotonic() + 120
            while (status := api.get(f"/jobs/{job.json()['id']}/").json()["status"]) != "succeeded":
                assert status in ("created", "queued", "running"), status
                assert time.monotonic() < deadline, "the job did not finish"
                time.sleep(0.2)
