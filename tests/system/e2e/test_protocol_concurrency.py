"""The pull protocol under concurrency and failure, against a real server on both databases.

Many claimers on one job never share a task; a worker that vanishes or is killed has its
tasks redelivered after the lease, and every task is still stored exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import BACKENDS, PostgresDatabases
from tests.support.protocol import wait_for_status
from tests.support.workers import (
    Platform,
    WorkLog,
    analyses_per_image,
    drain,
    live_platform,
    project_with_images,
    result_for,
    start_job,
    start_worker,
)

pytestmark = pytest.mark.slow

#: Seconds any single wait in these tests may take.
WAIT = 30.0
#: Seconds a job may take to end after its last result was stored (it should end at once).
SETTLE = 10.0
#: Statuses a job ends in.
FINAL = {"succeeded", "completed_with_errors", "failed", "canceled"}


@pytest.fixture(scope="module", params=BACKENDS)
def platform(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases,
) -> Iterator[Platform]:
    """One server per backend for the module; each test makes its own project and job."""
    folder = tmp_path_factory.mktemp(f"protocol-{request.param}")
    with live_platform(request.param, folder, postgres_databases) as live:
        yield live


@pytest.fixture
def api(platform: Platform) -> Iterator[httpx.Client]:
    with platform.client() as client:
        yield client


def job_detail(api: httpx.Client, job_id: int) -> dict[str, Any]:
    answer = api.get(f"/api/v2/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def tasks_of(api: httpx.Client, job_id: int, status: str) -> dict[int, dict[str, Any]]:
    answer = api.get(f"/api/v2/jobs/{job_id}/tasks", params={"status": status, "limit": 1000})
    assert answer.status_code == 200, answer.text
    return {t["id"]: t for t in answer.json()["results"]}


def claim(api: httpx.Client, job_id: int, batch_size: int, who: str) -> list[dict[str, Any]]:
    answer = api.post(
        f"/api/v2/jobs/{job_id}/tasks/",
        json={"batch_size": batch_size, "client_info": {"hostname": who, "software": "e2e"}},
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["tasks"])


def post_results(api: httpx.Client, job_id: int, items: list[dict[str, Any]]) -> dict[int, str]:
    answer = api.post(f"/api/v2/jobs/{job_id}/result/", json={"results": items})
    assert answer.status_code == 200, answer.text
    return {int(t["task_id"]): t["status"] for t in answer.json()["tasks"]}


def assert_one_analysis_each(api: httpx.Client, job_id: int, image_ids: list[int]) -> None:
    analyses = analyses_per_image(api, image_ids)
    counts = Counter(len(found) for found in analyses.values())
    assert counts == {1: len(image_ids)}, f"analyses per image -> number of images: {counts}"
    assert {a[0]["job_id"] for a in analyses.values()} == {job_id}


def test_threads_and_processes_never_share_a_task(platform: Platform, tmp_path: Path) -> None:
    slug = "concurrency"
    total, batch = 300, 7
    with platform.client() as api:
        project_id, images = project_with_images(api, total, name="Concurrency")
        job_id = start_job(api, project_id, slug, lease_seconds=3600)
        wait_for_status(api.get, job_id, {"running"}, platform.headers, timeout=WAIT)

    go = tmp_path / "go"
    outs = [tmp_path / f"process-{n}.json" for n in range(4)]
    processes = [
        start_worker(platform, job_id, slug, out, batch_size=batch, go_file=go) for out in outs
    ]
    start = threading.Event()
    thread_logs: list[WorkLog] = []
    errors: list[BaseException] = []

    def thread_worker() -> None:
        try:
            with platform.client() as client:
                start.wait(WAIT)
                thread_logs.append(drain(client, job_id, slug, batch_size=batch, deadline=WAIT))
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=thread_worker) for _ in range(8)]
    try:
        for thread in threads:
            thread.start()
        ready_by = time.monotonic() + WAIT
        while not all(out.with_suffix(".ready").exists() for out in outs):
            for n, process in enumerate(processes):
                logged = outs[n].with_suffix(".log").read_text()
                assert process.poll() is None, f"worker process {n} died:\n{logged}"
            assert time.monotonic() < ready_by, "worker processes not ready in time"
            time.sleep(0.02)
        go.touch()
        start.set()
        for thread in threads:
            thread.join(WAIT)
            assert not thread.is_alive(), "a worker thread did not finish"
        for n, process in enumerate(processes):
            code = process.wait(WAIT)
            assert code == 0, outs[n].with_suffix(".log").read_text()
    finally:
        start.set()
        go.touch()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert not errors, errors
    process_logs = [WorkLog.from_json(json.loads(out.read_text())) for out in outs]

    received = Counter(
        task_id for work in thread_logs + process_logs for ids in work.batches for task_id in ids
    )
    shared = {task_id: n for task_id, n in received.items() if n > 1}
    assert not shared, f"tasks handed out more than once: {shared}"
    assert len(received) == total
    assert sum(len(ids) for work in process_logs for ids in work.batches) > 0, (
        "the worker processes got no task, so they did not compete with the threads"
    )
    assert all(len(ids) <= batch for work in thread_logs + process_logs for ids in work.batches)
    statuses = Counter(
        s for work in thread_logs + process_logs for v in work.statuses.values() for s in v
    )
    assert statuses == {"saved": total}
    handed_images = Counter(
        image for work in thread_logs + process_logs for image in work.images.values()
    )
    assert set(handed_images) == set(images)
    assert set(handed_images.values()) == {1}

    with platform.client() as api:
        job = wait_for_status(api.get, job_id, FINAL, platform.headers, timeout=SETTLE)
        assert job["status"] == "succeeded", job
        assert job["counts"] == {
            "total": total,
            "queued": 0,
            "leased": 0,
            "succeeded": total,
            "failed": 0,
            "canceled": 0,
        }
        assert set(tasks_of(api, job_id, "succeeded")) == set(received)
        assert_one_analysis_each(api, job_id, sorted(images))


def test_expired_lease_is_redelivered_and_late_results_are_stored_once(
    platform: Platform, api: httpx.Client
) -> None:
    slug = "lease-expiry"
    project_id, images = project_with_images(api, 6, name="Lease expiry", seed=1000)
    job_id = start_job(api, project_id, slug, lease_seconds=1)
    wait_for_status(api.get, job_id, {"running"}, platform.headers, timeout=WAIT)

    first = claim(api, job_id, 6, "worker-a")  # worker A claims, then goes silent
    assert len(first) == 6
    assert claim(api, job_id, 6, "worker-b") == []  # leased to A for now

    give_up = time.monotonic() + WAIT
    second: list[dict[str, Any]] = []
    while not second:
        assert time.monotonic() < give_up, f"tasks not redelivered: {job_detail(api, job_id)}"
        time.sleep(0.1)
        second = claim(api, job_id, 6, "worker-b")
    assert sorted(t["id"] for t in second) == sorted(t["id"] for t in first)
    a_subject = {t["id"]: t["reply_subject"] for t in first}
    assert all(t["reply_subject"] != a_subject[t["id"]] for t in second)

    b_first, b_rest = second[:3], second[3:]
    assert post_results(api, job_id, [result_for(t, slug) for t in b_first]) == dict.fromkeys(
        (int(t["id"]) for t in b_first), "saved"
    )
    late = post_results(api, job_id, [result_for(t, slug) for t in first])
    assert late == {
        **dict.fromkeys((int(t["id"]) for t in b_first), "duplicate"),
        **dict.fromkeys((int(t["id"]) for t in b_rest), "saved"),
    }
    assert post_results(api, job_id, [result_for(t, slug) for t in b_rest]) == dict.fromkeys(
        (int(t["id"]) for t in b_rest), "duplicate"
    )

    job = wait_for_status(api.get, job_id, FINAL, platform.headers, timeout=SETTLE)
    assert job["status"] == "succeeded", job
    assert job["counts"]["succeeded"] == job["counts"]["total"] == 6
    done = tasks_of(api, job_id, "succeeded")
    assert {task_id: t["attempts"] for task_id, t in done.items()} == {
        int(t["id"]): 2 for t in first
    }
    assert_one_analysis_each(api, job_id, sorted(images))


def test_worker_killed_mid_batch_leaves_exact_counts(
    platform: Platform, api: httpx.Client, tmp_path: Path
) -> None:
    slug = "sigkill"
    total = 12
    project_id, images = project_with_images(api, total, name="SIGKILL", seed=2000)
    job_id = start_job(api, project_id, slug, lease_seconds=3)
    wait_for_status(api.get, job_id, {"running"}, platform.headers, timeout=WAIT)

    journal = tmp_path / "journal.jsonl"
    worker = start_worker(
        platform, job_id, slug, tmp_path / "killed.json", batch_size=5, pause=60, journal=journal
    )
    try:
        give_up = time.monotonic() + WAIT
        while not (journal.exists() and job_detail(api, job_id)["counts"]["leased"] > 0):
            assert worker.poll() is None, (tmp_path / "killed.log").read_text()
            assert time.monotonic() < give_up, "the worker process never held a lease"
            time.sleep(0.05)
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(WAIT) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    held = [
        int(task_id) for line in journal.read_text().splitlines() for task_id in json.loads(line)
    ]
    assert len(held) == 5
    assert job_detail(api, job_id)["counts"]["leased"] == 5

    finished: set[int] = set()
    give_up = time.monotonic() + WAIT
    while True:
        work = drain(api, job_id, slug, batch_size=5, deadline=WAIT)
        assert all(s == ["saved"] for s in work.statuses.values()), work.statuses
        finished |= set(work.statuses)
        job = job_detail(api, job_id)
        if job["status"] != "running":
            break
        assert time.monotonic() < give_up, f"job not finished after the kill: {job}"
        time.sleep(0.2)  # the killed worker's tasks come back when its lease expires

    assert job["status"] == "succeeded", job
    assert job["counts"] == {
        "total": total,
        "queued": 0,
        "leased": 0,
        "succeeded": total,
        "failed": 0,
        "canceled": 0,
    }
    assert set(held) <= finished
    assert len(finished) == total
    done = tasks_of(api, job_id, "succeeded")
    assert {task_id: t["attempts"] for task_id, t in done.items()} == {
        task_id: 2 if task_id in held else 1 for task_id in done
    }
    assert_one_analysis_each(api, job_id, sorted(images))
