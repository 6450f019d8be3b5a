"""An AMI Data Companion worker's conversation with trapline, call for call.

The calls, query parameters, headers and bodies are those of ADC's Antenna client
(docs/antenna-protocol.md §1), and every answer is checked with pydantic v2 models shaped like
ADC's own, which do not coerce an int into a str: an answer ADC would refuse fails here.
"""

from __future__ import annotations

import hashlib
import itertools
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, StrictInt, StrictStr, ValidationError

from tests.support.databases import BACKENDS, PostgresDatabases
from tests.support.protocol import wait_for_status
from tests.support.workers import Platform, live_platform, project_with_images

pytestmark = pytest.mark.slow

#: Seconds any single wait in these tests may take.
WAIT = 30.0
#: Seconds a job may take to end after its last result was stored (it should end at once).
SETTLE = 10.0
#: Statuses a job ends in.
FINAL = {"succeeded", "completed_with_errors", "failed", "canceled"}
#: ADC's AMI_ANTENNA_API_BATCH_SIZE as the README example sets it.
BATCH_SIZE = 4
#: What ADC posts for an image it could not download.
LOAD_ERROR = "failed to load image"
DETECTOR = {"name": "FasterRCNN for AMI Moth Traps 2021", "key": "fasterrcnn_ami_moth_traps_2021"}
BINARY = {"name": "Moth / Non-Moth Classifier", "key": "moth_nonmoth_classifier"}
BINARY_LABELS = ["moth", "nonmoth"]
SPECIES_LABELS = ["Actias luna", "Hyalophora cecropia", "Automeris io"]
#: Where ADC's detector "found" the moth; inside the 64x48 test images.
BOX = {"x1": 4.0, "y1": 5.0, "x2": 40.0, "y2": 30.0}


# -- ADC's side of the contract (trapdata/antenna/schemas.py), as strict as pydantic v2 is --


class AdcTask(BaseModel):
    id: StrictStr
    image_id: StrictStr
    image_url: StrictStr
    reply_subject: StrictStr | None = None


class AdcTasksResponse(BaseModel):
    tasks: list[AdcTask]


class AdcJobListItem(BaseModel):
    id: StrictInt
    pipeline_slug: StrictStr


class AdcJobsListResponse(BaseModel):
    results: list[AdcJobListItem]


class AdcResultPostResponse(BaseModel):
    status: StrictStr
    job_id: StrictInt
    results_queued: StrictInt
    tasks: list[dict[str, Any]] = []


class AdcRegistrationResponse(BaseModel):
    pipelines_created: list[StrictStr] = []
    pipelines_updated: list[StrictStr] = []
    processing_service_id: StrictInt | None = None


def refuse_credentials(request: httpx.Request) -> None:
    """ADC downloads images with a session that never sends the platform token."""
    assert "authorization" not in request.headers, f"credentials sent to {request.url}"


class AdcWorker:
    """The HTTP calls of ``ami worker`` and ``ami worker register``, in ADC's shapes."""

    def __init__(self, base: str, token: str, *, scheme: str = "Token") -> None:
        assert base.endswith("/api/v2")
        self.base = base
        self.api = httpx.Client(
            headers={"Authorization": f"{scheme} {token}"}, timeout=30, follow_redirects=False
        )
        self.downloads = httpx.Client(
            timeout=30, follow_redirects=True, event_hooks={"request": [refuse_credentials]}
        )
        self.service_name = f"AMI Data Companion ({socket.gethostname()})"

    def close(self) -> None:
        self.api.close()
        self.downloads.close()

    def register(self, project_id: int, pipelines: list[dict[str, Any]]) -> AdcRegistrationResponse:
        answer = self.api.post(
            f"{self.base}/projects/{project_id}/pipelines/",
            json={"processing_service_name": self.service_name, "pipelines": pipelines},
            timeout=60,
        )
        assert answer.status_code == 201, answer.text
        return AdcRegistrationResponse.model_validate(answer.json())

    def poll(self, slugs: list[str]) -> list[AdcJobListItem]:
        answer = self.api.get(
            f"{self.base}/jobs",
            params={
                "pipeline__slug__in": ",".join(slugs),
                "ids_only": 1,
                "incomplete_only": 1,
                "dispatch_mode": "async_api",
            },
        )
        assert answer.status_code == 200, (answer.status_code, answer.headers, answer.text)
        assert answer.url.path == "/api/v2/jobs"
        return AdcJobsListResponse.model_validate(answer.json()).results

    def claim(self, job_id: int) -> list[AdcTask]:
        answer = self.api.post(f"{self.base}/jobs/{job_id}/tasks/", json={"batch_size": BATCH_SIZE})
        assert answer.status_code == 200, answer.text
        return AdcTasksResponse.model_validate(answer.json()).tasks

    def download(self, task: AdcTask) -> bytes:
        answer = self.downloads.get(task.image_url)
        assert answer.status_code == 200, answer.text
        return answer.content

    def post(self, job_id: int, results: list[dict[str, Any]]) -> AdcResultPostResponse:
        answer = self.api.post(
            f"{self.base}/jobs/{job_id}/result/", json={"results": results}, timeout=60
        )
        assert answer.status_code == 200, answer.text
        return AdcResultPostResponse.model_validate(answer.json())


def ami_pipeline(slug: str) -> dict[str, Any]:
    """A PipelineConfigResponse as ADC registers it: detector, moth filter, species model."""

    def category_map(labels: list[str]) -> dict[str, Any]:
        return {
            "data": [
                {"index": i, "label": label, "gbif_key": None} for i, label in enumerate(labels)
            ],
            "labels": labels,
            "version": None,
            "description": None,
            "uri": None,
        }

    def algorithm(ref: dict[str, str], task_type: str, labels: list[str] | None) -> dict[str, Any]:
        return {
            **ref,
            "description": None,
            "task_type": task_type,
            "version": 1,
            "version_name": None,
            "uri": None,
            "category_map": category_map(labels) if labels else None,
        }

    return {
        "name": f"{slug.replace('_', ' ').title()}",
        "slug": slug,
        "version": 1,
        "description": "Moth detector, moth/non-moth filter and a species classifier",
        "algorithms": [
            algorithm(DETECTOR, "localization", None),
            algorithm(BINARY, "classification", BINARY_LABELS),
            algorithm(species_ref(slug), "classification", SPECIES_LABELS),
        ],
        "stages": [],
    }


def species_ref(slug: str) -> dict[str, str]:
    return {"name": f"{slug} species classifier", "key": f"{slug}_species_classifier"}


def ami_result(task: AdcTask, slug: str, seconds: float) -> dict[str, Any]:
    """One AntennaTaskResult as ADC dumps it (``model_dump(mode="json")``), naive timestamps."""
    now = datetime.now().isoformat()
    return {
        "reply_subject": task.reply_subject,
        "result": {
            "pipeline": slug,
            "algorithms": {},
            "total_time": seconds,
            "source_images": [{"id": task.image_id, "url": task.image_url, "deployment": None}],
            "detections": [
                {
                    "source_image_id": task.image_id,
                    "bbox": BOX,
                    "inference_time": 0.02,
                    "algorithm": DETECTOR,
                    "timestamp": now,
                    "crop_image_url": None,
                    "classifications": [
                        {
                            "classification": "moth",
                            "labels": BINARY_LABELS,
                            "scores": [0.93, 0.07],
                            "logits": [],
                            "inference_time": 0.004,
                            "algorithm": BINARY,
                            "terminal": False,
                            "timestamp": now,
                        },
                        {
                            "classification": "Hyalophora cecropia",
                            "labels": None,  # ADC leaves big taxonomies to the category map
                            "scores": [0.1, 0.8, 0.1],
                            "logits": [],
                            "features": None,
                            "ood_score": None,
                            "inference_time": 0.01,
                            "algorithm": species_ref(slug),
                            "terminal": True,
                            "timestamp": now,
                        },
                    ],
                }
            ],
            "deployments": None,
            "config": {"example_config_param": None},
        },
    }


def ami_error(task: AdcTask) -> dict[str, Any]:
    return {
        "reply_subject": task.reply_subject,
        "result": {"error": LOAD_ERROR, "image_id": task.image_id},
    }


@pytest.fixture(scope="module", params=BACKENDS)
def platform(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases,
) -> Iterator[Platform]:
    folder = tmp_path_factory.mktemp(f"ami-{request.param}")
    with live_platform(request.param, folder, postgres_databases) as live:
        yield live


@pytest.fixture
def api(platform: Platform) -> Iterator[httpx.Client]:
    """The user who owns the project and starts jobs (not the worker)."""
    with platform.client() as client:
        yield client


def start_ami_job(api: httpx.Client, project_id: int, slug: str, image_ids: list[int]) -> int:
    made = api.post(
        "/api/v2/jobs/",
        json={
            "project_id": project_id,
            "pipeline": slug,
            "image_ids": image_ids,
            # One try, so the image ADC fails to load ends the job at once instead of retrying.
            "params": {"max_attempts": 1},
        },
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_models_refuse_what_adc_refuses() -> None:
    task = {"id": "1", "image_id": "2", "image_url": "http://x/y.jpg", "reply_subject": "s"}
    AdcTask.model_validate(task)
    with pytest.raises(ValidationError):
        AdcTask.model_validate({**task, "id": 1})
    with pytest.raises(ValidationError):
        AdcJobListItem.model_validate({"id": "1", "pipeline_slug": "a"})
    with pytest.raises(ValidationError):
        AdcResultPostResponse.model_validate({"status": "accepted", "job_id": 1})


def test_ami_data_companion_worker_drains_jobs(platform: Platform, api: httpx.Client) -> None:
    slug_a, slug_b = "ami_quebec_vermont_2023", "ami_panama_2023"
    project_id, images = project_with_images(api, 10, name="AMI traps", seed=5000)
    ids = sorted(images)
    worker = AdcWorker(f"{platform.url}/api/v2", platform.token)
    try:
        registered = worker.register(project_id, [ami_pipeline(slug_a), ami_pipeline(slug_b)])
        assert sorted(registered.pipelines_created) == sorted([slug_a, slug_b])
        again = worker.register(project_id, [ami_pipeline(slug_a), ami_pipeline(slug_b)])
        assert again.pipelines_created == []
        listed = api.get(f"/api/v2/projects/{project_id}/pipelines/").json()["results"]
        services = {s["name"] for p in listed for s in p["services"]}
        assert services == {worker.service_name}

        assert worker.poll([slug_a, slug_b]) == []
        job_a = start_ami_job(api, project_id, slug_a, ids[:7])
        job_b = start_ami_job(api, project_id, slug_b, ids[7:])
        for job_id in (job_a, job_b):
            wait_for_status(api.get, job_id, {"running"}, platform.headers, timeout=WAIT)

        statuses: dict[str, str] = {}
        failed_image: str | None = None
        drained: list[int] = []
        give_up = time.monotonic() + WAIT
        while jobs := worker.poll([slug_a, slug_b]):
            assert time.monotonic() < give_up, f"jobs still listed as incomplete: {jobs}"
            for job in jobs:
                assert job.pipeline_slug in (slug_a, slug_b)
                drained.append(job.id)
                while tasks := worker.claim(job.id):
                    assert len(tasks) <= BATCH_SIZE
                    assert time.monotonic() < give_up, "the job never stopped handing out tasks"
                    started = time.monotonic()
                    for task in tasks:
                        data = worker.download(task)
                        assert hashlib.sha256(data).hexdigest() == images[int(task.image_id)]
                    seconds = (time.monotonic() - started) / len(tasks)
                    failed_image = failed_image or tasks[0].image_id  # as if it did not load
                    results = [
                        ami_error(t)
                        if t.image_id == failed_image
                        else ami_result(t, job.pipeline_slug, seconds)
                        for t in tasks
                    ]
                    answer = worker.post(job.id, results)
                    assert answer.status == "accepted"
                    assert answer.job_id == job.id
                    by_subject = {t["reply_subject"]: t["status"] for t in answer.tasks}
                    assert answer.results_queued == list(by_subject.values()).count("saved")
                    for task in tasks:
                        statuses[task.image_id] = by_subject[task.reply_subject]
        assert sorted(set(drained)) == sorted([job_a, job_b])
    finally:
        worker.close()

    assert failed_image is not None
    assert statuses == {str(i): "failed" if str(i) == failed_image else "saved" for i in ids}
    failed_job = job_a if int(failed_image) in ids[:7] else job_b
    for job_id, total in ((job_a, 7), (job_b, 3)):
        errors = 1 if job_id == failed_job else 0
        final = "completed_with_errors" if errors else "succeeded"
        ended = wait_for_status(api.get, job_id, FINAL, platform.headers, timeout=SETTLE)
        assert ended["status"] == final, ended
        assert ended["counts"] == {
            "total": total,
            "queued": 0,
            "leased": 0,
            "succeeded": total - errors,
            "failed": errors,
            "canceled": 0,
        }
    failures = api.get(f"/api/v2/jobs/{failed_job}/tasks", params={"status": "failed"}).json()
    assert [(str(t["image_id"]), t["last_error"]) for t in failures["results"]] == [
        (failed_image, LOAD_ERROR)
    ]

    for image_id in ids:
        if str(image_id) == failed_image:
            continue
        analyses = api.get(f"/api/v2/images/{image_id}").json()["analyses"]
        assert len(analyses) == 1, analyses
        assert analyses[0]["status"] == "completed"
        assert analyses[0]["job_id"] == (job_a if image_id in ids[:7] else job_b)
        annotations = analyses[0]["annotations"]
        boxes = [a for a in annotations if a["type"] == "bounding_box"]
        assert [b["bbox"] for b in boxes] == [BOX]
        labels = {a["label"]: a for a in annotations if a["type"] == "classification"}
        assert set(labels) == {"moth", "Hyalophora cecropia"}
        assert {a["parent_id"] for a in labels.values()} == {boxes[0]["id"]}
        assert labels["Hyalophora cecropia"]["confidence"] == pytest.approx(0.8)
        assert labels["moth"]["confidence"] == pytest.approx(0.93)


def test_older_ami_clients_are_served(platform: Platform, api: httpx.Client) -> None:
    slug = "ami_legacy_2022"
    project_id, images = project_with_images(api, 5, name="Legacy AMI", seed=6000)
    base = f"{platform.url}/api/v2"
    legacy = httpx.Client(
        headers={"Authorization": f"Api-Key {platform.token}"}, timeout=30, follow_redirects=False
    )
    try:
        # One ADC branch registers with client_info instead of processing_service_name.
        registered = legacy.post(
            f"{base}/projects/{project_id}/pipelines/",
            json={
                "client_info": {
                    "hostname": socket.gethostname(),
                    "software": "ami-data-companion",
                    "version": "0.5.0",
                    "platform": "linux",
                },
                "pipelines": [ami_pipeline(slug)],
            },
        )
        assert registered.status_code == 201, registered.text
        assert AdcRegistrationResponse.model_validate(registered.json()).pipelines_created == [slug]
        job_id = start_ami_job(api, project_id, slug, sorted(images))
        wait_for_status(api.get, job_id, {"running"}, platform.headers, timeout=WAIT)

        # Older polls: one pipeline__slug per request, and backend= instead of dispatch_mode=.
        polled = legacy.get(
            f"{base}/jobs",
            params={
                "pipeline__slug": slug,
                "ids_only": 1,
                "incomplete_only": 1,
                "backend": "async_api",
            },
        )
        assert polled.status_code == 200, polled.text
        assert [j.id for j in AdcJobsListResponse.model_validate(polled.json()).results] == [job_id]
        bearer = legacy.get(
            f"{base}/jobs",
            params={"pipeline__slug__in": slug, "ids_only": 1, "incomplete_only": 1},
            headers={"Authorization": f"Bearer {platform.token}"},
        )
        assert bearer.status_code == 200, bearer.text

        # Older claims: GET …/tasks?batch=N (then with the slash and the service name).
        seen: list[str] = []
        give_up = time.monotonic() + WAIT
        for n in itertools.count():
            assert time.monotonic() < give_up, "the job never stopped handing out tasks"
            if n == 0:
                claimed = legacy.get(f"{base}/jobs/{job_id}/tasks", params={"batch": 2})
            else:
                claimed = legacy.get(
                    f"{base}/jobs/{job_id}/tasks/",
                    params={"batch": 2, "processing_service_name": "AMI Data Companion"},
                )
            assert claimed.status_code == 200, claimed.text
            tasks = AdcTasksResponse.model_validate(claimed.json()).tasks
            if not tasks:
                break
            assert len(tasks) <= 2
            seen += [t.image_id for t in tasks]
            answer = legacy.post(
                f"{base}/jobs/{job_id}/result/",
                json={"results": [ami_result(t, slug, 0.05) for t in tasks]},
            )
            assert answer.status_code == 200, answer.text
            posted = AdcResultPostResponse.model_validate(answer.json())
            assert posted.results_queued == len(tasks)
    finally:
        legacy.close()

    assert sorted(seen) == sorted(str(i) for i in images)
    job = wait_for_status(api.get, job_id, FINAL, platform.headers, timeout=SETTLE)
    assert job["status"] == "succeeded", job
    assert job["counts"]["succeeded"] == job["counts"]["total"] == 5
