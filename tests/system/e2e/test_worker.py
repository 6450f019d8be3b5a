"""``trapline worker`` as real processes against a real ``trapline serve``.

Images reach the workers through an image server that refuses (and records) any request
carrying credentials, and that slows each image down so a job lasts long enough to kill a
worker, drain one, or restart the platform in the middle of it.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.image_server import ImageServer, image_server
from tests.support.moto import free_port
from tests.support.processes import clean_env, running, trapline_command
from tests.support.waiting import wait_until
from tests.support.worker_process import Worker
from tests.support.workers import Platform, live_platform, project_with_images

pytestmark = pytest.mark.slow

PIPELINE = "trapline-constant"


@contextmanager
def platform_behind_images(
    folder: Path,
    postgres_databases: Any,
    *,
    delay: float,
    port: int | None = None,
    backend: str = "sqlite",
) -> Iterator[tuple[Platform, ImageServer, httpx.Client]]:
    with (
        image_server(delay=delay) as images,
        live_platform(
            backend, folder, postgres_databases, port=port, PUBLIC_URL=images.url
        ) as platform,
        platform.client() as client,
    ):
        images.upstream = platform.url
        yield platform, images, client


def register(platform: Platform, folder: Path, project_id: int) -> str:
    done = subprocess.run(
        trapline_command(
            "worker",
            "register",
            "--project",
            str(project_id),
            "--pipeline",
            PIPELINE,
            "--name",
            "e2e",
        ),
        env=clean_env(TRAPLINE_API_URL=platform.url, TRAPLINE_TOKEN=platform.token),
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def new_job(client: httpx.Client, project_id: int, **params: Any) -> int:
    made = client.post(
        "/api/v2/jobs/", json={"project_id": project_id, "pipeline": PIPELINE, "params": params}
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def job(client: httpx.Client, job_id: int) -> dict[str, Any]:
    answer = client.get(f"/api/v2/jobs/{job_id}/")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def tasks(client: httpx.Client, job_id: int, status: str) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v2/jobs/{job_id}/tasks/", params={"status": status, "limit": 1000})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["results"])


def detections_per_image(client: httpx.Client, image_ids: list[int], job_id: int) -> list[int]:
    counts = []
    for image_id in image_ids:
        analyses = client.get(f"/api/v2/images/{image_id}").json()["analyses"]
        mine = [a for a in analyses if a["job_id"] == job_id]
        assert len(mine) == 1, (image_id, analyses)
        counts.append(sum(1 for n in mine[0]["annotations"] if n["type"] == "bounding_box"))
    return counts


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_two_workers_finish_a_job_and_one_killed_midway_changes_nothing(
    tmp_path: Path, postgres_databases: Any, backend: str
) -> None:
    behind = platform_behind_images(tmp_path, postgres_databases, delay=0.15, backend=backend)
    with behind as (platform, images, client):
        project_id, uploaded = project_with_images(client, 80, name="two workers")
        printed = register(platform, tmp_path, project_id)
        assert f"project {project_id}" in printed
        assert "created: trapline-constant" in printed
        assert "already there: trapline-constant" in register(platform, tmp_path, project_id)
        job_id = new_job(client, project_id, lease_seconds=4, max_attempts=3)
        first = Worker(platform.url, platform.token, tmp_path, "w1", "--batch-size", "4")
        # Not --burst: while w1's leases run out there is briefly nothing to claim.
        second = Worker(platform.url, platform.token, tmp_path, "w2", "--batch-size", "4")
        try:
            wait_until(
                lambda: job(client, job_id)["counts"]["succeeded"] >= 12,
                lambda: f"no progress:\n{first.log()}\n{second.log()}",
                timeout=60,
            )
            first.process.send_signal(signal.SIGKILL)
            assert first.wait() == -signal.SIGKILL
            wait_until(
                lambda: job(client, job_id)["status"] == "succeeded",
                lambda: f"job not done: {job(client, job_id)}\n{second.log()}",
                timeout=90,
            )
            second.process.send_signal(signal.SIGTERM)
            assert second.wait() == 0, second.log()
        finally:
            first.kill()
            second.kill()
        done = job(client, job_id)
        assert done["counts"]["succeeded"] == 80
        assert done["counts"]["failed"] == done["counts"]["leased"] == 0
        assert detections_per_image(client, list(uploaded), job_id) == [1] * 80
        assert images.with_credentials == []
        assert images.served >= 80


def test_sigterm_drains_the_batch_in_hand_and_exits_zero(
    tmp_path: Path, postgres_databases: Any
) -> None:
    with platform_behind_images(tmp_path, postgres_databases, delay=0.2) as (
        platform,
        images,
        client,
    ):
        project_id, _ = project_with_images(client, 60, name="drain")
        register(platform, tmp_path, project_id)
        job_id = new_job(client, project_id, lease_seconds=300)
        worker = Worker(platform.url, platform.token, tmp_path, "drainer", "--batch-size", "8")
        try:
            wait_until(
                lambda: job(client, job_id)["counts"]["succeeded"] >= 8,
                lambda: f"no progress:\n{worker.log()}",
                timeout=60,
            )
            worker.process.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0, worker.log()
        finally:
            worker.kill()
        # Leases last 300 s, so nothing was reaped: every task it held was posted.
        assert tasks(client, job_id, "leased") == []
        midway = job(client, job_id)
        assert midway["counts"]["succeeded"] < 60, "drained too late to prove anything"
        images.delay = 0.0  # the slow images only had to keep the first worker busy
        finisher = Worker(platform.url, platform.token, tmp_path, "finisher", "--burst")
        assert finisher.wait(90) == 0, finisher.log()
        assert job(client, job_id)["status"] == "succeeded"
        assert images.with_credentials == []


def _blob_path(data_dir: Path, sha256: str) -> Path:
    for path in (data_dir / "blobs").rglob("*"):
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
            return path
    raise AssertionError(f"no blob with sha256 {sha256}")


def test_corrupt_and_missing_images_fail_after_max_attempts_with_clear_errors(
    tmp_path: Path, postgres_databases: Any
) -> None:
    with platform_behind_images(tmp_path, postgres_databases, delay=0) as (platform, _, client):
        project_id, uploaded = project_with_images(client, 10, name="bad images")
        (corrupt, corrupt_sha), (missing, missing_sha) = list(uploaded.items())[:2]
        _blob_path(tmp_path / "data", corrupt_sha).write_bytes(b"\xff\xd8 definitely not a jpeg")
        _blob_path(tmp_path / "data", missing_sha).unlink()
        register(platform, tmp_path, project_id)
        job_id = new_job(client, project_id, max_attempts=2, lease_seconds=30)
        worker = Worker(platform.url, platform.token, tmp_path, "bad", "--burst")
        assert worker.wait(90) == 0, worker.log()
        wait_until(
            lambda: job(client, job_id)["status"] == "completed_with_errors",
            lambda: f"{job(client, job_id)}\n{worker.log()}",
            timeout=30,
        )
        failed = {t["image_id"]: t for t in tasks(client, job_id, "failed")}
        assert set(failed) == {corrupt, missing}
        assert all(t["attempts"] == 2 for t in failed.values())
        assert "could not be decoded" in failed[corrupt]["last_error"]
        assert "HTTP 404" in failed[missing]["last_error"]
        assert job(client, job_id)["counts"]["succeeded"] == 8


def test_workers_ride_out_a_platform_restart(tmp_path: Path, postgres_databases: Any) -> None:
    port = free_port()
    with platform_behind_images(tmp_path, postgres_databases, delay=0.1, port=port) as (
        platform,
        images,
        client,
    ):
        project_id, uploaded = project_with_images(client, 60, name="restart")
        register(platform, tmp_path, project_id)
        job_id = new_job(client, project_id, lease_seconds=10)
        worker = Worker(platform.url, platform.token, tmp_path, "patient", "--batch-size", "4")
        try:
            wait_until(
                lambda: job(client, job_id)["counts"]["succeeded"] >= 8,
                lambda: f"no progress:\n{worker.log()}",
                timeout=60,
            )
            retries = worker.log().count("; retry ")
            assert platform.server.stop(signal.SIGINT) == 0
            # The worker's calls fail meanwhile and are retried.
            wait_until(
                lambda: worker.log().count("; retry ") > retries,
                lambda: f"the worker retried nothing:\n{worker.log()}",
                timeout=60,
            )
            with running(["serve"], cwd=tmp_path, env=platform.env, port=port):
                wait_until(
                    lambda: job(client, job_id)["status"] == "succeeded",
                    lambda: f"{job(client, job_id)}\n{worker.log()}",
                    timeout=120,
                )
                assert worker.process.poll() is None, worker.log()
                worker.process.send_signal(signal.SIGTERM)
                assert worker.wait(30) == 0, worker.log()
                assert detections_per_image(client, list(uploaded), job_id) == [1] * 60
        finally:
            worker.kill()
        assert "retry" in worker.log()
        assert images.with_credentials == []


def test_a_second_signal_exits_at_once(tmp_path: Path, postgres_databases: Any) -> None:
    behind = platform_behind_images(tmp_path, postgres_databases, delay=1.0)
    with behind as (platform, _, client):
        project_id, _ = project_with_images(client, 16, name="impatient")
        register(platform, tmp_path, project_id)
        job_id = new_job(client, project_id, lease_seconds=300)
        worker = Worker(platform.url, platform.token, tmp_path, "impatient", "--batch-size", "8")
        try:
            wait_until(
                lambda: job(client, job_id)["counts"]["leased"] > 0,
                lambda: f"nothing claimed:\n{worker.log()}",
                timeout=60,
            )
            worker.process.send_signal(signal.SIGTERM)
            wait_until(lambda: "finishing the work in hand" in worker.log(), "the first SIGTERM")
            started = time.monotonic()
            worker.process.send_signal(signal.SIGTERM)
            assert worker.wait(10) == 128 + signal.SIGTERM, worker.log()
            assert time.monotonic() - started < 5  # images take 1 s each: it did not drain
        finally:
            worker.kill()
        assert "exiting now" in worker.log()
        # The leases it held are still out; the reaper hands them out when they expire.
        assert job(client, job_id)["counts"]["leased"] > 0
