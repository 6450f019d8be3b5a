"""The worker protocol, unchanged, with NATS JetStream carrying dispatch: a real ``trapline
serve`` on PostgreSQL with ``TRAPLINE_QUEUE_URL=nats://…`` pointing at a NATS server the tests
start (and kill, and wipe), driven over HTTP by the test workers.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import PostgresDatabases
from tests.support.nats import NatsServer, nats_server
from tests.support.protocol import wait_for_status
from tests.support.waiting import wait_until
from tests.support.workers import (
    Platform,
    WorkLog,
    analyses_per_image,
    drain,
    live_platform,
    patient_claim,
    project_with_images,
    result_for,
    start_job,
    start_worker,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.nats]

#: Seconds any single wait may take.
WAIT = 30.0
#: Statuses a job ends in.
FINAL = {"succeeded", "completed_with_errors", "failed", "canceled"}


@pytest.fixture(scope="module")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    with nats_server(tmp_path_factory.mktemp("nats")) as server:
        yield server


@pytest.fixture(scope="module")
def platform(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases,
    nats: NatsServer,
) -> Iterator[Platform]:
    """``trapline serve`` on PostgreSQL and NATS, its reconciler running twice a second."""
    folder = tmp_path_factory.mktemp("nats-platform")
    with live_platform(
        "postgres",
        folder,
        postgres_databases,
        QUEUE_URL=nats.url,
        NATS_RECONCILE_INTERVAL="0.5",
    ) as live:
        yield live


@pytest.fixture
def api(platform: Platform) -> Iterator[httpx.Client]:
    with platform.client() as client:
        yield client


def claim(api: httpx.Client, job_id: int, batch_size: int) -> httpx.Response:
    return api.post(f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": batch_size})


def post(api: httpx.Client, job_id: int, tasks: list[dict[str, Any]], slug: str) -> list[str]:
    answer = api.post(
        f"/api/v2/jobs/{job_id}/result/", json={"results": [result_for(t, slug) for t in tasks]}
    )
    assert answer.status_code == 200, answer.text
    return [item["status"] for item in answer.json()["tasks"]]


def queued(api: httpx.Client, job_id: int) -> int:
    """How many of the job's tasks wait to be claimed."""
    return int(api.get(f"/api/v2/jobs/{job_id}").json()["counts"]["queued"])


def assert_done_once_each(
    api: httpx.Client, platform: Platform, job_id: int, images: dict[int, str]
) -> None:
    job = wait_for_status(api.get, job_id, FINAL, platform.headers, timeout=WAIT)
    assert job["status"] == "succeeded", job
    total = len(images)
    assert job["counts"] == {
        "total": total,
        "queued": 0,
        "leased": 0,
        "succeeded": total,
        "failed": 0,
        "canceled": 0,
    }
    analyses = analyses_per_image(api, sorted(images))
    assert Counter(len(found) for found in analyses.values()) == {1: total}
    assert {found[0]["job_id"] for found in analyses.values()} == {job_id}


def test_jobs_run_to_completion_over_nats(
    platform: Platform, api: httpx.Client, tmp_path: Path
) -> None:
    slug = "nats-e2e"
    big_project, big_images = project_with_images(api, 36, name="NATS big", seed=100)
    small_project, small_images = project_with_images(api, 9, name="NATS small", seed=200)
    big = start_job(api, big_project, slug, lease_seconds=120)
    small = start_job(api, small_project, slug, lease_seconds=120)
    for job_id in (big, small):
        wait_for_status(api.get, job_id, {"running"}, platform.headers, timeout=WAIT)

    process = start_worker(platform, big, slug, tmp_path / "process.json", batch_size=4)
    logs: list[WorkLog] = []
    across: list[list[dict[str, Any]]] = []
    errors: list[BaseException] = []

    def per_job_worker() -> None:
        try:
            with platform.client() as client:
                logs.append(drain(client, big, slug, batch_size=3, deadline=WAIT))
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    def next_worker() -> None:  # POST /tasks/next/: claims across both jobs
        try:
            with platform.client() as client:

                def next_batch() -> tuple[list[dict[str, Any]]] | None:
                    """A claim's tasks; none only once no task of either job is queued (a
                    running job's messages may reach NATS a moment after its commit)."""
                    body = {"pipelines": [slug], "batch_size": 4}
                    give_up = time.monotonic() + WAIT
                    answer = patient_claim(client, "/api/v2/tasks/next/", body, give_up)
                    assert answer.status_code == 200, answer.text
                    tasks = answer.json()["tasks"]
                    if tasks or not any(queued(client, job) for job in (big, small)):
                        return (tasks,)
                    return None

                while True:
                    (tasks,) = wait_until(next_batch, "a claim of the queued tasks", timeout=WAIT)
                    if not tasks:
                        return
                    across.append(tasks)
                    for job_id in {t["job_id"] for t in tasks}:
                        mine = [t for t in tasks if t["job_id"] == job_id]
                        assert set(post(client, job_id, mine, slug)) == {"saved"}
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=per_job_worker) for _ in range(2)]
    threads.append(threading.Thread(target=next_worker))
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
            assert not thread.is_alive(), "a worker thread did not finish"
        assert process.wait(WAIT) == 0, (tmp_path / "process.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not errors, errors

    logs.append(WorkLog.from_json(json.loads((tmp_path / "process.json").read_text())))
    received = Counter(
        [int(task) for work in logs for ids in work.batches for task in ids]
        + [int(t["id"]) for tasks in across for t in tasks]
    )
    assert not {t: n for t, n in received.items() if n > 1}, "a task was handed out twice"
    assert len(received) == len(big_images) + len(small_images)
    assert {t["job_id"] for tasks in across for t in tasks} <= {big, small}
    assert all(len(tasks) <= 4 for tasks in across)
    assert_done_once_each(api, platform, big, big_images)
    assert_done_once_each(api, platform, small, small_images)


def _claim_each(
    api: httpx.Client, job_id: int, count: int, beyond: dict[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """Claim until ``count`` tasks are in hand (each under another lease than in ``beyond``),
    the latest lease of each; fails after WAIT seconds."""
    held: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + WAIT
    while len(held) < count:
        assert time.monotonic() < deadline, f"claimed only {sorted(held)}"
        for task in claim(api, job_id, count).json()["tasks"]:
            earlier = (beyond or {}).get(task["id"])
            if earlier is None or task["reply_subject"] != earlier["reply_subject"]:
                held[task["id"]] = task
        if len(held) < count:
            time.sleep(0.2)
    return held


def test_an_expired_lease_is_redelivered_over_nats(platform: Platform, api: httpx.Client) -> None:
    slug = "nats-e2e-lease"
    project_id, images = project_with_images(api, 4, name="NATS lease", seed=300)
    job_id = start_job(api, project_id, slug, lease_seconds=1)
    wait_for_status(api.get, job_id, {"running"}, platform.headers, timeout=WAIT)
    # On a loaded machine the messages may reach the consumer a moment after the job runs,
    # and a one-second lease may run out while they come: keep the latest lease of each task.
    first = _claim_each(api, job_id, 4)  # then this worker goes silent
    again = _claim_each(api, job_id, 4, beyond=first)  # the reaper requeues, NATS redelivers
    assert sorted(again) == sorted(first)
    first_leases, again_leases = list(first.values()), list(again.values())
    assert set(post(api, job_id, again_leases, slug)) == {"saved"}
    assert set(post(api, job_id, first_leases, slug)) == {"duplicate"}
    assert_done_once_each(api, platform, job_id, images)


def test_nats_outage_answers_503_and_a_wiped_store_is_restored(
    platform: Platform, api: httpx.Client, nats: NatsServer
) -> None:
    slug = "nats-e2e-outage"
    project_id, images = project_with_images(api, 20, name="NATS outage", seed=400)
    job_id = start_job(api, project_id, slug, lease_seconds=120)
    wait_for_status(api.get, job_id, {"running"}, platform.headers, timeout=WAIT)
    # A running job's messages may reach NATS a moment after its commit: claim until 5 held.
    held: list[dict[str, Any]] = []

    def five_held() -> bool:
        held.extend(claim(api, job_id, 5 - len(held)).json()["tasks"])
        return len(held) == 5

    wait_until(five_held, "5 tasks to claim", timeout=WAIT)

    nats.kill()
    for _ in range(3):
        start = time.monotonic()
        answer = claim(api, job_id, 5)
        assert time.monotonic() - start < 2.5  # 2 s in the queue, plus the HTTP round trip
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "queue_unavailable"
        assert int(answer.headers["Retry-After"]) > 0
    # Results need no NATS: the database is the record of truth.
    assert set(post(api, job_id, held, slug)) == {"saved"}

    nats.wipe_store()  # every message and consumer is gone with it
    nats.start()
    done = {int(t["id"]) for t in held}
    deadline = time.monotonic() + WAIT
    while len(done) < len(images):
        assert time.monotonic() < deadline, f"only {len(done)} of {len(images)} tasks came back"
        answer = claim(api, job_id, 5)
        if answer.status_code == 503:  # the server is still reconnecting
            time.sleep(0.3)
            continue
        assert answer.status_code == 200, answer.text
        tasks = answer.json()["tasks"]
        if not tasks:  # the reconciler has not republished them yet
            time.sleep(0.2)
            continue
        assert {int(t["id"]) for t in tasks}.isdisjoint(done), "a task came back twice"
        assert set(post(api, job_id, tasks, slug)) == {"saved"}
        done |= {int(t["id"]) for t in tasks}
    assert_done_once_each(api, platform, job_id, images)
    assert "Traceback" not in platform.server.log()
