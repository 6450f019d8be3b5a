"""MegaDetector from install to boxes: ``trapline worker --pipeline megadetector`` as a real
process, with a stand-in model of MegaDetector's layout where the worker keeps its weights,
runs a job on a camera-trap project, and the MegaDetector JSON export holds its boxes in
MegaDetector's own categories (what Timelapse reads)."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.megadetector_model import expected_boxes, stand_in
from tests.support.processes import clean_env, trapline_command
from tests.support.waiting import wait_until
from tests.support.workers import live_platform

pytestmark = pytest.mark.slow

#: A camera trap's frame size (the shared heron frames').
FRAME = (2048, 1440)
#: Seconds the worker and the export may take on a loaded machine.
WAIT = 110.0


def _frames(count: int) -> list[tuple[str, tuple[str, io.BytesIO, str]]]:
    files = []
    for n in range(count):
        buffer = io.BytesIO()
        Image.new("RGB", FRAME, (40 + 20 * n, 60, 50)).save(buffer, "JPEG")
        buffer.seek(0)
        files.append(("files", (f"RCNX{n:04d}.JPG", buffer, "image/jpeg")))
    return files


def _trapline(env: dict[str, str], folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        trapline_command(*args), env=env, cwd=folder, capture_output=True, text=True, timeout=WAIT
    )


def test_megadetector_boxes_from_a_worker_reach_the_megadetector_json(
    tmp_path: Path, postgres_databases: Any
) -> None:
    weights = tmp_path / "weights"
    stand_in(weights)
    with (
        live_platform("sqlite", tmp_path, postgres_databases) as platform,
        platform.client() as client,
    ):
        project = client.post("/api/v2/projects/", json={"name": "Camera traps"}).json()["id"]
        uploaded = client.post(f"/api/v2/projects/{project}/images/", files=_frames(2))
        assert uploaded.status_code == 201, uploaded.text
        images = [int(r["id"]) for r in uploaded.json()["results"]]
        env = clean_env(
            TRAPLINE_API_URL=platform.url,
            TRAPLINE_TOKEN=platform.token,
            TRAPLINE_WEIGHTS_CACHE_DIR=str(weights),
        )
        registered = _trapline(
            env, tmp_path, "worker", "register", "--project", str(project),
            "--pipeline", "megadetector", "--name", "md",
        )  # fmt: skip
        assert registered.returncode == 0, registered.stderr
        made = client.post(
            "/api/v2/jobs/", json={"project_id": project, "pipeline": "megadetector"}
        )
        assert made.status_code == 201, made.text
        worked = _trapline(env, tmp_path, "worker", "--pipeline", "megadetector", "--burst")
        assert worked.returncode == 0, worked.stderr
        assert "SHA-256" in worked.stderr  # the weights' hash, to check against the file's
        job = client.get(f"/api/v2/jobs/{made.json()['id']}/").json()
        assert job["status"] == "succeeded", job

        expected = expected_boxes(*FRAME)
        for image in images:
            (analysis,) = client.get(f"/api/v2/images/{image}").json()["analyses"]
            assert analysis["pipeline_slug"] == "megadetector"
            boxes = [a for a in analysis["annotations"] if a["type"] == "bounding_box"]
            assert len(boxes) == len(expected) == 3

        export = client.post(f"/api/v2/projects/{project}/exports", json={"format": "megadetector"})
        assert export.status_code == 202, export.text
        path = f"/api/v2/exports/{export.json()['id']}"
        ended = wait_until(
            lambda: (got := client.get(path).json())["status"] not in ("queued", "running") and got,
            timeout=WAIT,
            what="the export's end",
        )
        assert ended["status"] == "succeeded", ended
        link = client.get(f"/api/v2/exports/{ended['id']}/download", follow_redirects=False)
        document = json.loads(httpx.get(link.headers["location"], timeout=60).content)
    assert document["detection_categories"] == {"1": "animal", "2": "person", "3": "vehicle"}
    width, height = FRAME
    for entry in document["images"]:
        found = sorted(entry["detections"], key=lambda d: -d["conf"])
        assert [d["category"] for d in found] == ["1", "2", "3"]
        for detection, (_, score, (x1, y1, x2, y2)) in zip(found, expected, strict=True):
            assert detection["conf"] == pytest.approx(score, abs=1e-3)
            normalised = [x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height]
            assert detection["bbox"] == pytest.approx(normalised, abs=1e-3)
