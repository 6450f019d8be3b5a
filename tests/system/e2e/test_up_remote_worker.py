"""`trapline up` with a remote `trapline worker`: who gets the tasks, and which projects are
offered the remote worker's pipelines (docs/decisions/038-embedded-worker-and-remote-workers.md).
"""

from __future__ import annotations

import io
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.support.processes import clean_env, running
from tests.support.waiting import wait_until
from tests.support.worker_process import PIPELINE, Worker

pytestmark = pytest.mark.slow

#: Seconds a job of a few tiny photos may take, the remote worker's start included.
JOB_TIMEOUT = 120.0


def _photo(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (shade * 12, 200, 190)).save(out, "JPEG")
    return out.getvalue()


def _project_with_photos(api: httpx.Client, name: str, count: int) -> int:
    project = api.post("/projects/", json={"name": name})
    assert project.status_code == 201, project.text
    project_id = int(project.json()["id"])
    files = [("files", (f"{i}.jpg", _photo(i), "image/jpeg")) for i in range(count)]
    uploaded = api.post(f"/projects/{project_id}/images/", files=files)
    assert uploaded.status_code == 201, uploaded.text
    return project_id


def _offered(api: httpx.Client, project_id: int, service: str) -> bool:
    """Whether the project lists the pipeline with a service of that name's start."""
    listed = api.get(f"/projects/{project_id}/pipelines/").json()["results"]
    return any(
        p["slug"] == PIPELINE and any(s["name"].startswith(service) for s in p["services"])
        for p in listed
    )


def _start_job(api: httpx.Client, project_id: int) -> int:
    """Start the pipeline over the project's photos; the job's id once it runs."""
    job = api.post("/jobs/", json={"project_id": project_id, "pipeline": PIPELINE})
    assert job.status_code == 201, job.text
    job_id = int(job.json()["id"])
    wait_until(
        lambda: api.get(f"/jobs/{job_id}/").json()["status"] in ("running", "succeeded"),
        what=f"job {job_id} running",
    )
    return job_id


def _finished(api: httpx.Client, job_id: int) -> list[dict[str, Any]]:
    """The job's tasks once it succeeded."""

    def done() -> bool:
        status = api.get(f"/jobs/{job_id}/").json()["status"]
        assert status in ("created", "queued", "running", "succeeded"), status
        return status == "succeeded"

    wait_until(done, timeout=JOB_TIMEOUT, what=f"the end of job {job_id}")
    return _tasks(api, job_id)


def _tasks(api: httpx.Client, job_id: int) -> list[dict[str, Any]]:
    return list(api.get(f"/jobs/{job_id}/tasks/", params={"limit": 100}).json()["results"])


def test_a_remote_worker_gets_the_tasks_of_the_projects_its_token_reaches(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    env = clean_env(TRAPLINE_DATA_DIR=str(data))
    with running(["up", "--data-dir", str(data)], cwd=tmp_path, env=env) as server:
        admin = (data / "admin-token").read_text().strip()
        with httpx.Client(
            base_url=f"{server.url}/api/v2", headers={"Authorization": f"Token {admin}"}
        ) as api:
            served = _project_with_photos(api, "served by the GPU box", 20)
            other = _project_with_photos(api, "not the GPU box's", 3)
            made = api.post(f"/projects/{served}/service-tokens/", json={"name": "gpu box"})
            assert made.status_code == 201, made.text
            remote = Worker(server.url, made.json()["token"], tmp_path, "gpu-box")
            try:
                # Offering follows the worker's first claim: once it shows, the server has
                # seen the worker ask for the pipeline's tasks.
                wait_until(
                    lambda: _offered(api, served, "gpu-box"),
                    timeout=JOB_TIMEOUT,
                    what=f"the remote worker's pipelines in project {served}:\n{remote.log()}",
                )
                # Paused, the remote worker is busy as far as the server can tell (online,
                # not claiming), so the served job's tasks wait while the embedded worker
                # runs the other job: its claims span every running job of the pipeline.
                remote.signal(signal.SIGSTOP)
                served_job = _start_job(api, served)
                other_tasks = _finished(api, _start_job(api, other))
                waiting = _tasks(api, served_job)
                remote.signal(signal.SIGCONT)
                served_tasks = _finished(api, served_job)
                assert not _offered(api, other, "gpu-box")  # its token does not reach there
            finally:
                remote.signal(signal.SIGCONT)
                remote.kill()
    assert {t["status"] for t in waiting} == {"queued"}, waiting
    assert len(served_tasks) == 20
    assert {str(t["lease_holder"]).split(":")[0] for t in served_tasks} == {"gpu-box"}
    # The embedded worker still serves the project the remote worker cannot.
    assert {str(t["lease_holder"]).split(" (")[0] for t in other_tasks} == {"embedded worker"}


def test_a_new_project_is_offered_the_pipelines_of_a_running_worker(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = clean_env(TRAPLINE_DATA_DIR=str(data), TRAPLINE_EMBEDDED_WORKER="false")
    with running(["up", "--data-dir", str(data)], cwd=tmp_path, env=env) as server:
        admin = (data / "admin-token").read_text().strip()
        with httpx.Client(
            base_url=f"{server.url}/api/v2", headers={"Authorization": f"Token {admin}"}
        ) as api:
            before = _project_with_photos(api, "there before the worker", 1)
            remote = Worker(server.url, admin, tmp_path, "gpu-box")
            try:
                wait_until(
                    lambda: _offered(api, before, "gpu-box"),
                    timeout=60,
                    what=f"the worker's pipelines in project {before}:\n{remote.log()}",
                )
                # Made while the worker runs: nobody registers anything with it.
                later = _project_with_photos(api, "made after the worker started", 2)
                wait_until(
                    lambda: _offered(api, later, "gpu-box"),
                    timeout=30,
                    what=f"the worker's pipelines in the new project {later}:\n{remote.log()}",
                )
                tasks = _finished(api, _start_job(api, later))
            finally:
                remote.kill()
    assert {str(t["lease_holder"]).split(":")[0] for t in tasks} == {"gpu-box"}
