"""Push mode with real processes: ``trapline serve`` calls ``trapline worker serve``.

A manager registers the processing service by its URL (on loopback: the platform runs with
``TRAPLINE_OUTBOUND_ALLOW_NETWORKS=127.0.0.0/8``, as an operator sets it to let managers use a
service on the platform's own machine); a ``sync_api`` job then runs without
any pull worker: the platform's push dispatcher sends batches of signed image links to the
service's ``/process`` and stores what comes back. Image links go through an image server that
refuses (and records) any request carrying credentials.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import BACKENDS
from tests.support.image_server import ImageServer, image_server
from tests.support.moto import free_port
from tests.support.processes import Server, clean_env, running
from tests.support.protocol import wait_for_status
from tests.support.waiting import wait_until
from tests.support.workers import (
    IMAGE_SIZE,
    Platform,
    analyses_per_image,
    live_platform,
    project_with_images,
)

pytestmark = pytest.mark.slow

FINAL = {"succeeded", "completed_with_errors", "failed", "canceled"}
#: Where the ``trapline-constant`` pipeline puts its one box: the centre quarter of the image.
WIDTH, HEIGHT = IMAGE_SIZE
CENTRE = {"x1": WIDTH / 4, "y1": HEIGHT / 4, "x2": WIDTH * 3 / 4, "y2": HEIGHT * 3 / 4}


@contextmanager
def push_platform(
    backend: str, folder: Path, postgres_databases: Any
) -> Iterator[tuple[Platform, ImageServer, httpx.Client]]:
    """``trapline serve`` with quick status checks, its image links through an image server."""
    with (
        image_server() as images,
        live_platform(
            backend,
            folder,
            postgres_databases,
            PUBLIC_URL=images.url,
            STATUS_INTERVAL="0.5",
            PUSH_BATCH_SIZE="3",
            OUTBOUND_ALLOW_NETWORKS="127.0.0.0/8",  # the services run on this machine
        ) as platform,
        platform.client() as client,
    ):
        images.upstream = platform.url
        yield platform, images, client


@contextmanager
def processing_service(folder: Path, port: int | None = None, **settings: str) -> Iterator[Server]:
    """``trapline worker serve --pipeline trapline-constant``, ready (its ``/readyz`` answers
    200)."""
    env = clean_env(**{f"TRAPLINE_{k}": v for k, v in settings.items()})
    with running(
        ["worker", "serve", "--pipeline", "trapline-constant"], cwd=folder, env=env, port=port
    ) as service:
        yield service


def register(client: httpx.Client, project_id: int, url: str) -> dict[str, Any]:
    answer = client.post(
        f"/api/v2/projects/{project_id}/processing-services/",
        json={"name": "GPU box", "endpoint_url": url},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def push_job(client: httpx.Client, project_id: int, **params: Any) -> int:
    answer = client.post(
        "/api/v2/jobs/",
        json={
            "project_id": project_id,
            "pipeline": "trapline-constant",
            "dispatch_mode": "sync_api",
            "params": params,
        },
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def tasks(client: httpx.Client, job_id: int) -> list[dict[str, Any]]:
    answer = client.get(f"/api/v2/jobs/{job_id}/tasks/?limit=1000")
    assert answer.status_code == 200, answer.text
    return list(answer.json()["results"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_push_job_runs_through_a_processing_service(
    tmp_path: Path, postgres_databases: Any, backend: str
) -> None:
    with (
        push_platform(backend, tmp_path, postgres_databases) as (platform, images, client),
        processing_service(tmp_path) as service,
    ):
        project_id, uploaded = project_with_images(client, 7, name="Push night")
        made = register(client, project_id, service.url)
        assert (made["online"], made["pipelines"]) == (True, ["trapline-constant"])

        job_id = push_job(client, project_id)
        job = wait_for_status(client.get, job_id, FINAL, {}, timeout=90)

        assert job["status"] == "succeeded", (job, platform.server.log())
        assert (job["counts"]["succeeded"], job["counts"]["total"]) == (7, 7)
        for image_id, analyses in analyses_per_image(client, sorted(uploaded)).items():
            (analysis,) = analyses
            assert (analysis["job_id"], analysis["pipeline_slug"]) == (job_id, "trapline-constant")
            boxes = [a for a in analysis["annotations"] if a["type"] == "bounding_box"]
            labels = [a for a in analysis["annotations"] if a["type"] == "classification"]
            assert [b["bbox"] for b in boxes] == [CENTRE], image_id
            assert [(c["label"], c["confidence"]) for c in labels] == [("moth", 0.9)], image_id
        assert {t["lease_holder"] for t in tasks(client, job_id)} == {"push:GPU box"}
        assert images.served == 7
        assert images.with_credentials == []
        assert service.stop(signal.SIGTERM) == 0, service.log()


def test_images_the_service_cannot_take_fail_after_max_attempts(
    tmp_path: Path, postgres_databases: Any
) -> None:
    with (
        push_platform("sqlite", tmp_path, postgres_databases) as (_, _images, client),
        processing_service(tmp_path, MAX_IMAGE_BYTES="100") as service,
    ):
        project_id, _ = project_with_images(client, 2, name="Too big")
        register(client, project_id, service.url)

        job_id = push_job(client, project_id, max_attempts=2)
        job = wait_for_status(client.get, job_id, FINAL, {}, timeout=90)

        assert job["status"] == "failed", job
        assert (job["counts"]["failed"], job["counts"]["total"]) == (2, 2)
        for task in tasks(client, job_id):
            assert (task["status"], task["attempts"]) == ("failed", 2), task
            assert "limit" in task["last_error"], task
            assert "100" in task["last_error"], task


def test_a_push_job_waits_while_its_service_is_down_and_finishes_once_it_is_back(
    tmp_path: Path, postgres_databases: Any
) -> None:
    port = free_port()
    with push_platform("sqlite", tmp_path, postgres_databases) as (_, _images, client):
        project_id, _ = project_with_images(client, 4, name="Outage")
        with processing_service(tmp_path, port=port) as service:
            register(client, project_id, service.url)
            url = service.url
            assert service.stop(signal.SIGKILL) != 0
        _wait_offline(client, project_id)

        job_id = push_job(client, project_id)
        waiting = _wait_for_event(client, job_id, "waiting for an online push-mode")
        assert waiting["status"] == "running"
        assert waiting["counts"]["queued"] == 4

        with processing_service(tmp_path, port=port) as again:
            assert again.url == url
            job = wait_for_status(client.get, job_id, FINAL, {}, timeout=90)

        assert job["status"] == "succeeded", job
        assert job["counts"]["succeeded"] == 4


def _wait_offline(client: httpx.Client, project_id: int) -> None:
    def offline() -> dict[str, Any] | None:
        path = f"/api/v2/projects/{project_id}/processing-services/"
        (shown,) = client.get(path).json()["results"]
        return None if shown["online"] else dict(shown)

    shown = wait_until(offline, "the service's going offline", timeout=30)
    assert shown["last_error"].startswith("could not reach"), shown


def _wait_for_event(client: httpx.Client, job_id: int, starts: str) -> dict[str, Any]:
    def job() -> dict[str, Any] | None:
        found = dict(client.get(f"/api/v2/jobs/{job_id}").json())
        return found if any(e["message"].startswith(starts) for e in found["events"]) else None

    return wait_until(job, f"the job's event {starts!r}", timeout=30)
