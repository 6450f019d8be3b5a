"""A claim whose leases are committed must get its answer out.

Both found by the backend-termination scenario (test_database_faults.py), where a connection
killed at the wrong moment answered 503 after leases were committed, leaving those tasks with
nobody until their lease ran out (five minutes by default):

- the images of a claimed batch were read in a second transaction; the claim itself now returns
  each task's storage key, so nothing is read after the leases are committed;
- a claim across jobs leases from each job in its own transaction; when a later job's claim
  fails, the leases already taken from the others are now handed out instead of dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.protocol import pipeline_config, registration, wait_for_status
from trapline.db.engine import Database
from trapline.errors import Unavailable
from trapline.queue.sql import SqlTaskQueue

SLUG = "claim-answer"


def _running_jobs(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes], count: int
) -> list[int]:
    """``count`` running jobs of three images each."""
    files = [(f"img-{n}.jpg", jpeg(n, width=160, height=120)) for n in range(3 * count)]
    uploaded = upload(client, owner, project_id, *files)
    assert uploaded["status"] == 201, uploaded
    image_ids = [int(r["id"]) for r in uploaded["results"]]
    registered = client.post(
        f"/api/v2/projects/{project_id}/pipelines/",
        json=registration(pipeline_config(SLUG)),
        headers=owner.headers,
    )
    assert registered.status_code == 201, registered.text
    jobs = []
    for n in range(count):
        body = {
            "project_id": project_id,
            "pipeline": SLUG,
            "image_ids": image_ids[3 * n : 3 * n + 3],
        }
        made = client.post("/api/v2/jobs/", json=body, headers=owner.headers)
        assert made.status_code == 201, made.text
        jobs.append(int(made.json()["id"]))
        wait_for_status(client.get, jobs[-1], {"running"}, owner.headers)
    return jobs


def test_claim_answer_needs_no_database_after_leasing(
    client: AppClient,
    owner: Account,
    project_id: int,
    jpeg: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (job_id,) = _running_jobs(client, owner, project_id, jpeg, 1)
    claim_one_job = SqlTaskQueue._claim
    open_transaction = Database._transaction

    def database_gone(self: Database, **kwargs: bool) -> object:
        raise Unavailable("the database is unavailable or busy; retry in a moment")

    def claim_then_lose_the_database(self: SqlTaskQueue, *args: object) -> object:
        leases = claim_one_job(self, *args)  # type: ignore[arg-type]
        monkeypatch.setattr(Database, "_transaction", database_gone)
        return leases

    monkeypatch.setattr(SqlTaskQueue, "_claim", claim_then_lose_the_database)
    answer = client.post(
        f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": 3}, headers=owner.headers
    )
    monkeypatch.setattr(Database, "_transaction", open_transaction)
    assert answer.status_code == 200, answer.text
    tasks = answer.json()["tasks"]
    assert len(tasks) == 3
    for task in tasks:  # each URL serves the task's own image
        image = client.get(task["image_url"])
        assert image.status_code == 200
        shown = client.get(f"/api/v2/images/{task['image_id']}/", headers=owner.headers)
        assert hashlib.sha256(image.content).hexdigest() == shown.json()["sha256"]


def test_claim_across_jobs_keeps_the_leases_it_took(
    client: AppClient,
    owner: Account,
    project_id: int,
    jpeg: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jobs = _running_jobs(client, owner, project_id, jpeg, 2)
    claim_one_job = SqlTaskQueue._claim
    calls: list[int] = []

    def second_fails(self: SqlTaskQueue, job_id: int, *args: object) -> object:
        calls.append(job_id)
        if len(calls) == 2:
            raise Unavailable("the database is unavailable or busy; retry in a moment")
        return claim_one_job(self, job_id, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(SqlTaskQueue, "_claim", second_fails)
    answer = client.post(
        "/api/v2/tasks/next/", json={"pipelines": [SLUG], "batch_size": 4}, headers=owner.headers
    )
    assert answer.status_code == 200, answer.text
    handed = answer.json()["tasks"]
    assert {t["job_id"] for t in handed} == {calls[0]}
    assert len(handed) == 2
    assert set(calls) == set(jobs)
