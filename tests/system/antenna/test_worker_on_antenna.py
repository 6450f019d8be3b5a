"""A trapline worker against Antenna, as Antenna's current code answers (``standin.py``).

The first tests keep the stand-in honest about what Antenna refuses; the others run the real
``trapline worker`` commands against it: registration, and a burst worker completing a job
with every detection and classification stored.
"""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.support.processes import clean_env, trapline_command
from tests.system.antenna.standin import Antenna

TOKEN = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9"
PROJECT = 7


def photo(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade, 120, 90)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def antenna() -> Iterator[Antenna]:
    stand_in = Antenna()
    stand_in.tokens[TOKEN] = {PROJECT}
    stand_in.projects.add(PROJECT)
    with stand_in.serve():
        yield stand_in


def api(antenna: Antenna) -> httpx.Client:
    return httpx.Client(base_url=antenna.url, headers={"Authorization": f"Token {TOKEN}"})


def trapline(antenna: Antenna, folder: Path, *args: str, token: str = TOKEN) -> str:
    """Run ``trapline worker …`` against the stand-in; its output (it must exit 0)."""
    done = subprocess.run(
        trapline_command("worker", *args),
        env=clean_env(TRAPLINE_API_URL=f"{antenna.url}/api/v2", TRAPLINE_TOKEN=token),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_stand_in_refuses_what_antenna_refuses(antenna: Antenna) -> None:
    job = antenna.add_job(PROJECT, "trapline-constant", {1: photo(10), 2: photo(20)})
    antenna.add_job(PROJECT, "trapline-constant", {3: photo(30)})
    with api(antenna) as client:
        listing = client.get("/api/v2/jobs/", params={"status": "queued,running"})
        assert (listing.status_code, listing.json()) == (
            400,
            {
                "status": [
                    "Select a valid choice. queued,running is not one of the available choices."
                ]
            },
        )
        assert client.get("/api/v2/jobs/", params={"dispatch_mode": "pull"}).status_code == 400
        one = client.get("/api/v2/jobs/", params={"ids_only": "1", "incomplete_only": "1"})
        assert len(one.json()["results"]) == 1  # one job at random, unless a limit is given
        assert client.get("/api/v2/jobs").status_code == 301
        assert client.post("/api/v2/tasks/next/", json={}).status_code == 404
        assert client.post(f"/api/v2/jobs/{job.id}/tasks/", json={}).json() == {
            "batch_size": ["This field is required."]
        }
        (task,) = client.post(f"/api/v2/jobs/{job.id}/tasks/", json={"batch_size": 1}).json()[
            "tasks"
        ]
        good = {"reply_subject": task["reply_subject"], "result": {"error": "x", "image_id": "1"}}
        bad = {"reply_subject": None, "result": {"error": "x"}}
        whole = client.post(f"/api/v2/jobs/{job.id}/result/", json={"results": [good, bad]})
        assert whole.status_code == 400  # one bad item refuses the whole body
        taken = client.post(f"/api/v2/jobs/{job.id}/result/", json={"results": [good]}).json()
        assert (taken["status"], taken["results_queued"]) == ("accepted", 1)
        assert [t["status"] for t in taken["tasks"]] == ["queued"]


def test_a_result_posted_after_the_job_ended_is_dropped_as_antenna_drops_it(
    antenna: Antenna,
) -> None:
    """Antenna accepts the post but ignores a result whose job has ended (canceled): what a
    worker finishes after a cancel is lost there, so docs/antenna.md says so."""
    job = antenna.add_job(PROJECT, "trapline-constant", {1: photo(10), 2: photo(20)})
    with api(antenna) as client:
        (task,) = client.post(f"/api/v2/jobs/{job.id}/tasks/", json={"batch_size": 1}).json()[
            "tasks"
        ]
        with antenna.changed:
            job.status = "REVOKED"
        late = {"reply_subject": task["reply_subject"], "result": {"error": "x", "image_id": "1"}}
        taken = client.post(f"/api/v2/jobs/{job.id}/result/", json={"results": [late]}).json()
    assert taken["status"] == "accepted"
    assert antenna.wait(lambda: antenna.stored.ignored == [job.id], 30)
    assert job.failed_images == set()  # nothing of it was stored


def test_a_category_map_without_data_cannot_be_stored_on_antenna(antenna: Antenna) -> None:
    job = antenna.add_job(PROJECT, "bare", {1: photo(10)})
    algorithm = {"name": "c", "key": "bare-cls", "category_map": {"labels": ["moth"], "data": []}}
    config = {"name": "Bare", "slug": "bare", "version": 1, "algorithms": [algorithm]}
    detector = {"name": "d", "key": "bare-det", "task_type": "detection"}
    config["algorithms"].append(detector)
    reference = {"name": "c", "key": "bare-cls"}
    verdict = {"classification": "moth", "scores": [0.9], "algorithm": reference}
    verdict["timestamp"] = "2026-01-01T00:00:00"
    with api(antenna) as client:
        registered = client.post(
            f"/api/v2/projects/{PROJECT}/pipelines/",
            json={"processing_service_name": "x", "pipelines": [config]},
        )
        assert registered.status_code == 201
        (task,) = client.post(f"/api/v2/jobs/{job.id}/tasks/", json={"batch_size": 5}).json()[
            "tasks"
        ]
        found = {
            "source_image_id": "1",
            "bbox": {"x1": 1, "y1": 1, "x2": 5, "y2": 5},
            "algorithm": {"name": "d", "key": "bare-det"},
            "timestamp": "2026-01-01T00:00:00",
            "classifications": [verdict],
        }
        result = {
            "pipeline": "bare",
            "total_time": 0.1,
            "source_images": [{"id": "1", "url": task["image_url"]}],
            "detections": [found],
        }
        posted = client.post(
            f"/api/v2/jobs/{job.id}/result/",
            json={"results": [{"reply_subject": task["reply_subject"], "result": result}]},
        )
        assert posted.json()["status"] == "accepted"
    assert antenna.wait(lambda: antenna.stored.errors, 10)
    assert "IndexError" in antenna.stored.errors[0]
    assert job.status == "STARTED"  # not acknowledged: the job never finishes


def test_a_burst_worker_completes_an_antenna_job(antenna: Antenna, tmp_path: Path) -> None:
    registered = trapline(
        antenna, tmp_path, "register", "--project", str(PROJECT), "--pipeline", "trapline-constant"
    )
    assert f"project {PROJECT}" in registered
    assert "(id None)" not in registered  # Antenna's answer names no service id
    # Antenna lists the new algorithms' keys among the created pipelines: only pipelines named.
    assert "; created: trapline-constant; updated: none; already there: none" in registered, (
        registered
    )
    again = trapline(
        antenna, tmp_path, "register", "--project", str(PROJECT), "--pipeline", "trapline-constant"
    )
    assert "; created: none; updated: none; already there: trapline-constant" in again, again
    classifier = antenna.algorithms["trapline-constant"]["trapline-constant-classifier"]
    assert classifier.category_map is not None
    assert classifier.category_map.data == [
        {"index": 0, "label": "moth"},
        {"index": 1, "label": "nonmoth"},
    ]
    images = {n: photo(10 * n) for n in range(1, 13)}
    job = antenna.add_job(PROJECT, "trapline-constant", images)
    waiting = antenna.add_job(PROJECT, "trapline-constant", {99: photo(99)}, status="PENDING")

    log = trapline(
        antenna, tmp_path, "--pipeline", "trapline-constant", "--burst", "--batch-size", "5"
    )

    assert antenna.wait(lambda: job.status == "SUCCESS", 30), antenna.stored.errors
    assert waiting.status == "PENDING"  # listed, claimed empty, left: as ADC does
    assert antenna.stored.errors == []
    assert sorted({image for image, _ in antenna.stored.detections}) == sorted(images)
    assert sorted(c[0] for c in antenna.stored.classifications) == sorted(images)
    assert {c[1] for c in antenna.stored.classifications} == {"moth"}
    refused = {(method, path.split("?")[0], status) for method, path, status, _ in antenna.refused}
    assert refused == {("POST", "/api/v2/tasks/next/", 404)}, antenna.refused
    assert "no work left" in log
    assert " ERROR " not in log, log
    assert " WARNING " not in log, log


def test_a_token_antenna_does_not_know_stops_the_worker_with_what_to_do(
    antenna: Antenna, tmp_path: Path
) -> None:
    antenna.add_job(PROJECT, "trapline-constant", {1: photo(10)})
    done = subprocess.run(
        trapline_command("worker", "--pipeline", "trapline-constant", "--burst"),
        env=clean_env(TRAPLINE_API_URL=f"{antenna.url}/api/v2", TRAPLINE_TOKEN="wrong"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Invalid token." in done.stderr
    assert "A worker needs a service token" in done.stderr
    assert "stopped before every result was posted" not in done.stderr
