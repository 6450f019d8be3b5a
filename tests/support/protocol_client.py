"""A small client that speaks the worker protocol as an AMI worker does, over one project seen
by one account: uploads, registration, jobs, claims and results."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.protocol import (
    LABELS,
    PIPELINE_SLUG,
    detection,
    registration,
    success,
    wait_for_status,
)
from trapline.platform import Platform
from trapline.services.processing.duties import reap_expired_leases

API = "/api/v2"
#: Longer than the one-second leases tests take.
PAST_LEASE = 1.1
#: Size of the test images; the default detection box (10, 12, 60, 70) fits inside.
WIDTH, HEIGHT = 160, 120

_seeds = itertools.count(1000)


@dataclass
class Protocol:
    """One project seen by one account: uploads, registration, jobs, claims and results."""

    client: AppClient
    account: Account
    project_id: int
    jpeg: Callable[..., bytes]

    @property
    def headers(self) -> dict[str, str]:
        return self.account.headers

    @property
    def platform(self) -> Platform:
        """The platform behind the test client (its runners, queue, store)."""
        platform: Platform = self.client.app.state.platform  # type: ignore[attr-defined]
        return platform

    def as_(self, account: Account) -> Protocol:
        """The same project, acting as another account."""
        return Protocol(self.client, account, self.project_id, self.jpeg)

    def in_project(self, project_id: int) -> Protocol:
        """Another project, acting as the same account."""
        return Protocol(self.client, self.account, project_id, self.jpeg)

    # -- setting up --

    def images(self, count: int, *, names: list[str] | None = None, **form: str) -> list[int]:
        """Upload ``count`` new small images; returns their ids in order."""
        names = names or [f"img-{next(_seeds)}.jpg" for _ in range(count)]
        files = [(name, self.jpeg(next(_seeds), width=WIDTH, height=HEIGHT)) for name in names]
        body = upload(self.client, self.account, self.project_id, *files, **form)
        assert body["status"] == 201, body
        return [r["id"] for r in body["results"]]

    def register(self, *configs: dict[str, Any], name: str = "Test service (testhost)") -> Any:
        """POST the registration; returns the response."""
        return self.client.post(
            f"{API}/projects/{self.project_id}/pipelines/",
            json=registration(*configs, name=name),
            headers=self.headers,
        )

    def add_member(self, account: Account, role: str) -> None:
        response = self.client.post(
            f"{API}/projects/{self.project_id}/members",
            json={"email": account.email, "role": role},
            headers=self.headers,
        )
        assert response.status_code in (200, 201), response.text

    def deployment(self, name: str = "Trap A") -> int:
        response = self.client.post(
            f"{API}/projects/{self.project_id}/deployments",
            json={"name": name},
            headers=self.headers,
        )
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    # -- jobs --

    def create_job(self, pipeline: str = PIPELINE_SLUG, **fields: Any) -> Any:
        """POST /jobs/; ``fields`` go in the body (``params`` included); returns the response."""
        body = {"project_id": self.project_id, "pipeline": pipeline, **fields}
        return self.client.post(f"{API}/jobs/", json=body, headers=self.headers)

    def job_that_runs(self, **fields: Any) -> dict[str, Any]:
        """Create a job and wait until it is running; returns its detail."""
        response = self.create_job(**fields)
        assert response.status_code == 201, response.text
        return self.wait(response.json()["id"], {"running"})

    def wait(self, job_id: int, statuses: set[str]) -> dict[str, Any]:
        return wait_for_status(self.client.get, job_id, statuses, self.headers)

    def job(self, job_id: int) -> dict[str, Any]:
        response = self.client.get(f"{API}/jobs/{job_id}/", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def tasks(self, job_id: int, status: str | None = None) -> dict[str, Any]:
        """GET /jobs/{id}/tasks/ (the listing, not a claim)."""
        query = {"status": status} if status else {}
        response = self.client.get(
            f"{API}/jobs/{job_id}/tasks/", params={**query, "limit": 1000}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    # -- the worker side --

    def claim_response(self, job_id: int, body: Any) -> Any:
        return self.client.post(f"{API}/jobs/{job_id}/tasks/", json=body, headers=self.headers)

    def claim(self, job_id: int, batch_size: int, **extra: Any) -> list[dict[str, Any]]:
        """Claim up to ``batch_size`` tasks; returns them (asserting a 200)."""
        response = self.claim_response(job_id, {"batch_size": batch_size, **extra})
        assert response.status_code == 200, response.text
        return response.json()["tasks"]

    def post_response(self, job_id: int, *items: dict[str, Any]) -> Any:
        return self.client.post(
            f"{API}/jobs/{job_id}/result/", json={"results": list(items)}, headers=self.headers
        )

    def post(self, job_id: int, *items: dict[str, Any]) -> list[dict[str, Any]]:
        """Post result items; returns the per-item answers (asserting a 200)."""
        response = self.post_response(job_id, *items)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "accepted", body
        assert body["job_id"] == job_id, body
        return body["tasks"]

    def image(self, image_id: int) -> dict[str, Any]:
        response = self.client.get(f"{API}/images/{image_id}/", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def reap(self) -> None:
        """Run the lease reaper once, now."""
        state = self.client.app.state.platform  # type: ignore[attr-defined]
        reap_expired_leases(state.db, state.queue)


def run_boxes(proto: Protocol, found: dict[int, list[tuple[str, float]]]) -> None:
    """One job of the newest registered version over the project's photos (results asked
    again); these photos get a box per (label of ``LABELS``, score) (none: an empty result),
    the job's others no result."""
    job = proto.job_that_runs(params={"max_attempts": 1, "reprocess": True})
    tasks = {int(t["image_id"]): t for t in proto.claim(job["id"], 100)}
    items = []
    for image_id, boxes in found.items():
        task = tasks[image_id]
        shown = []
        for n, (label, score) in enumerate(boxes):
            scores = [round((1 - score) / 2, 3)] * len(LABELS)
            scores[LABELS.index(label)] = score
            box = (10 + 40 * n, 12, 40 + 40 * n, 70)
            shown.append(detection(task, bbox=box, label=label, scores=scores))
        items.append(success(task, *shown))
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}


def statuses(answers: list[dict[str, Any]]) -> list[str]:
    """The per-item statuses of a results answer, in order."""
    return [a["status"] for a in answers]


def api_get(proto: Protocol, path: str, **params: Any) -> Any:
    """GET an API path (under ``/api/v2``) as the project's account; the JSON of its 200."""
    answer = proto.client.get(f"{API}{path}", params=params, headers=proto.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def api_post(proto: Protocol, path: str, body: dict[str, Any], status: int = 200) -> Any:
    """POST JSON to an API path as the project's account; the JSON of its answer, which must
    have ``status``."""
    answer = proto.client.post(f"{API}{path}", json=body, headers=proto.headers)
    assert answer.status_code == status, answer.text
    return answer.json()
