"""Shapes of the worker protocol for tests: a registered pipeline and worker results."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.waiting import wait_until

#: The test pipeline: a detector and a 3-class classifier.
PIPELINE_SLUG = "moth-test"
LABELS = ["moth", "beetle", "fly"]


def pipeline_config(slug: str = PIPELINE_SLUG, version: int = 1, **extra: Any) -> dict[str, Any]:
    """A PipelineConfig as an AMI worker registers it."""
    return {
        "name": f"Test pipeline {slug}",
        "slug": slug,
        "version": version,
        "description": "detector + classifier for tests",
        "algorithms": [
            {"name": "Blob detector", "key": f"{slug}-det", "task_type": "detection", "version": 1},
            {
                "name": "Order classifier",
                "key": f"{slug}-cls",
                "task_type": "classification",
                "version": 1,
                "category_map": {
                    "labels": LABELS,
                    "data": [{"label": x, "index": i} for i, x in enumerate(LABELS)],
                },
            },
        ],
        "stages": [],
        **extra,
    }


def registration(*configs: dict[str, Any], name: str = "Test service (testhost)") -> dict[str, Any]:
    """The body of POST /projects/{id}/pipelines/."""
    return {"processing_service_name": name, "pipelines": list(configs) or [pipeline_config()]}


def detection(
    task: dict[str, Any],
    *,
    slug: str = PIPELINE_SLUG,
    bbox: tuple[float, float, float, float] = (10, 12, 60, 70),
    label: str = "moth",
    scores: list[float] | None = None,
    classifier_key: str | None = None,
) -> dict[str, Any]:
    """One detection with one classification, shaped as AMI workers send it."""
    x1, y1, x2, y2 = bbox
    return {
        "source_image_id": task["image_id"],
        "bbox": {"x1": x1, "y1": y1, "x2": x2, "y2": y2},
        "inference_time": 0.01,
        "algorithm": {"name": "Blob detector", "key": f"{slug}-det"},
        "timestamp": "2024-06-21T22:00:00",
        "crop_image_url": None,
        "classifications": [
            {
                "classification": label,
                "labels": LABELS,
                "scores": scores if scores is not None else [0.7, 0.2, 0.1],
                "logits": [2.0, 0.5, -1.0],
                "inference_time": 0.01,
                "algorithm": {"name": "Order classifier", "key": classifier_key or f"{slug}-cls"},
                "terminal": True,
                "timestamp": "2024-06-21T22:00:00",
            }
        ],
    }


def success(
    task: dict[str, Any], *detections: dict[str, Any], slug: str = PIPELINE_SLUG
) -> dict[str, Any]:
    """A result item for a task: PipelineResultsResponse with AMI's extra keys."""
    return {
        "reply_subject": task["reply_subject"],
        "result": {
            "pipeline": slug,
            "algorithms": {},
            "total_time": 0.05,
            "source_images": [
                {"id": task["image_id"], "url": task["image_url"], "deployment": None}
            ],
            "detections": list(detections),
            "deployments": None,
            "config": {"example_config_param": None},
        },
    }


def failure(task: dict[str, Any], message: str = "failed to load image") -> dict[str, Any]:
    """An error result item for a task."""
    return {
        "reply_subject": task["reply_subject"],
        "result": {"error": message, "image_id": task["image_id"]},
    }


def wait_for_status(
    get: Any, job_id: int, statuses: set[str], headers: dict[str, str], timeout: float = 20.0
) -> dict[str, Any]:
    """Poll GET /jobs/{id} (``get`` is an AppClient's or httpx's ``get``) until in ``statuses``."""
    seen: list[dict[str, Any]] = []

    def arrived() -> dict[str, Any] | None:
        seen[:] = [get(f"/api/v2/jobs/{job_id}", headers=headers).json()]
        return seen[0] if seen[0]["status"] in statuses else None

    return wait_until(arrived, lambda: f"job {job_id} not in {statuses}: {seen}", timeout=timeout)


def http_client(base_url: str, token: str) -> httpx.Client:
    """An httpx client for a running server, authenticated with ``token``."""
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Token {token}"}, timeout=30)
