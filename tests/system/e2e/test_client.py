"""``trapline.client`` against a real server: a notebook's session from project to result rows."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from tests.support.processes import clean_env, running
from trapline.client import ApiError, Client
from trapline.imaging.samples import write_sample_photos

pytestmark = pytest.mark.slow

#: Packages of the platform a script using the client must not need.
PLATFORM_PACKAGES = ("fastapi", "starlette", "sqlalchemy", "alembic", "psycopg", "uvicorn")


def test_the_client_needs_nothing_of_the_platform() -> None:
    probe = "import json, sys, trapline.client; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(done.stdout)
    assert "trapline.client.api" in loaded
    for package in PLATFORM_PACKAGES:
        assert not [m for m in loaded if m == package or m.startswith(package + ".")], package
    ours = {m.split(".")[1] for m in loaded if m.startswith("trapline.")}
    assert ours <= {"client"}, ours


def test_from_a_folder_of_photos_to_result_rows(tmp_path: Path) -> None:
    photos = write_sample_photos(tmp_path / "photos", 3, width=400)
    with running(["up"], cwd=tmp_path, env=clean_env()) as server:
        token = (tmp_path / "trapline-data" / "admin-token").read_text().strip()
        with Client(server.url + "/api/v2/", token) as api:
            project = api.create_project("Garden moths")
            trap = api.create_deployment(project["id"], "Trap 1", latitude=45.5, longitude=-73.6)
            summary = api.upload_folder(
                project["id"], tmp_path / "photos", deployment_id=trap["id"], progress=False
            )
            assert (len(summary.created), summary.failed) == (3, [])
            assert [p["name"] for p in api.projects()] == ["Garden moths"]
            images = list(api.images(project["id"]))
            assert sorted(i["filename"] for i in images) == sorted(p.name for p in photos)

            # The embedded worker registers its pipelines with new projects as it finds them.
            deadline = time.monotonic() + 60
            while "moth-blobs" not in {p["slug"] for p in api.pipelines(project["id"])}:
                assert time.monotonic() < deadline, "moth-blobs never registered"
                time.sleep(0.3)
            job = api.start_job(project["id"], "moth-blobs")
            shown = io.StringIO()
            with redirect_stderr(shown):
                ended = api.wait(job["id"], timeout=300, poll=0.3)
            assert ended["status"] == "succeeded"
            assert shown.getvalue().startswith(f"job {job['id']} [")
            assert "3/3" in shown.getvalue()

            rows = api.results(job["id"])
            boxes = [r for r in rows if r["type"] == "bounding_box"]
            assert boxes
            assert {r["filename"] for r in boxes} <= {p.name for p in photos}
            assert all(r["x2"] > r["x1"] and r["y2"] > r["y1"] for r in boxes)
            assert {r["pipeline"] for r in rows} == {"moth-blobs"}

            with pytest.raises(ApiError) as missing:
                api.job(987654)
            assert missing.value.status == 404
            assert "987654" in missing.value.detail
