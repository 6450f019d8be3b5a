"""The end of ``trapline up --demo``: run ``moth-blobs`` over the demo project and summarise.

Talks to the running server over HTTP as a user would, so the demo exercises the real path:
job creation, the queue, the embedded worker, result storage.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from trapline import __version__

#: Pipeline the demo runs.
DEMO_PIPELINE = "moth-blobs"
_FINAL = {"succeeded", "completed_with_errors", "failed", "canceled"}


@dataclass(frozen=True)
class DemoSummary:
    """What the demo job did."""

    job_id: int
    status: str
    images: int
    failed: int
    detections: int
    seconds: float

    def lines(self, url: str, project_id: int) -> list[str]:
        """The summary as printed at start-up."""
        rate = self.images / self.seconds if self.seconds > 0 else 0.0
        return [
            f"demo job {self.job_id} ({DEMO_PIPELINE}) {self.status}: {self.images} images, "
            f"{self.detections} detections, {self.failed} failed, {self.seconds:.1f} s "
            f"({rate:.1f} images/s)",
            f"  browse: {url}/api/v2/jobs/{self.job_id}/ and "
            f"{url}/api/v2/projects/{project_id}/images/",
        ]


def run_demo_job(
    api_url: str, token: str, project_id: int, *, timeout: float = 300.0
) -> DemoSummary:
    """Run the demo pipeline over the project (once: later runs summarise the first job)."""
    with httpx.Client(
        base_url=api_url.rstrip("/") + "/api/v2",
        # trapline's own reads are logged at DEBUG: the demo's polls would bury its summary.
        headers={"Authorization": f"Token {token}", "User-Agent": f"trapline/{__version__} demo"},
        timeout=30,
    ) as http:
        job = _existing_job(http, project_id)
        if job is None:
            made = _ok(
                http.post(
                    "/jobs/",
                    json={
                        "project_id": project_id,
                        "pipeline": DEMO_PIPELINE,
                        "name": "Demo: find the moths",
                    },
                )
            )
            job = made
        deadline = time.monotonic() + timeout
        while job["status"] not in _FINAL and time.monotonic() < deadline:
            time.sleep(0.5)
            job = _ok(http.get(f"/jobs/{job['id']}/"))
        return _summary(http, job)


def _existing_job(http: httpx.Client, project_id: int) -> dict[str, Any] | None:
    listing = _ok(
        http.get("/jobs/", params={"project": str(project_id), "pipeline__slug__in": DEMO_PIPELINE})
    )
    jobs = [j for j in listing["results"] if j["status"] not in ("canceled", "failed")]
    return _ok(http.get(f"/jobs/{jobs[0]['id']}/")) if jobs else None


def _summary(http: httpx.Client, job: dict[str, Any]) -> DemoSummary:
    counts = job["counts"]
    image_ids = [t["image_id"] for t in _tasks(http, job["id"])]
    with ThreadPoolExecutor(4) as pool:
        details = list(pool.map(lambda i: _ok(http.get(f"/images/{i}/")), image_ids))
    detections = sum(
        1
        for detail in details
        for analysis in detail["analyses"]
        if analysis["job_id"] == job["id"]
        for annotation in analysis["annotations"]
        if annotation["type"] == "bounding_box"
    )
    started, finished = job.get("started_at"), job.get("finished_at")
    seconds = _seconds_between(started, finished) if started and finished else 0.0
    return DemoSummary(
        job_id=job["id"],
        status=job["status"],
        images=counts["succeeded"] + counts["failed"],
        failed=counts["failed"],
        detections=detections,
        seconds=seconds,
    )


def _tasks(http: httpx.Client, job_id: int) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = _ok(
            http.get(f"/jobs/{job_id}/tasks/", params={"limit": "500", "offset": str(offset)})
        )
        tasks += page["results"]
        offset += 500
        if not page.get("next"):
            return tasks


def _seconds_between(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: "
            f"HTTP {response.status_code}: {response.text[:300]}"
        )
    return response.json()
