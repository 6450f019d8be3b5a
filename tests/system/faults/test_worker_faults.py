"""Workers that die, freeze, lose answers, choke on an image or outlive their job.

One ``trapline serve`` on PostgreSQL per queue backend serves the whole module; each scenario
has its own project, job and service token, so the workers of one never see another's tasks.
Every scenario ends with ``check_job_integrity``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.databases import PostgresDatabases
from tests.support.faults import check_job_integrity, wait_for_final
from tests.support.protocol import http_client
from tests.support.waiting import WAIT, wait_until
from tests.support.workers import WorkLog, drain, patient_claim, result_for, start_worker
from tests.system.faults.cutter import ResponseCutter
from tests.system.faults.harness import (
    PIPELINE,
    QUEUES,
    Site,
    Worker,
    answered_by,
    attempts,
    job_of,
    leased_by,
    new_job,
    new_project,
    queue_for,
    report,
    running_job,
    select,
    site,
    workers,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(60)]


@pytest.fixture(scope="module", params=QUEUES)
def shared(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases,
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp(f"worker-faults-{request.param}")
    with (
        queue_for(request.param, folder / "nats") as (queue_url, _),
        site(folder, postgres_databases, queue_url) as live,
    ):
        yield live


def test_worker_killed_mid_batch(shared: Site) -> None:
    """SIGKILL a worker holding leases: its tasks come back after the lease, stored once."""
    shared.images.delay = 0.15
    project = new_project(shared.api, 40, "sigkill")
    job_id = new_job(shared.api, project.id, lease_seconds=3, max_attempts=3)
    url, token, folder = shared.platform.url, project.token, shared.folder
    with workers(
        Worker(url, token, folder, "doomed", "--batch-size", "4"),
        Worker(url, token, folder, "survivor", "--batch-size", "4"),
    ) as (doomed, survivor):
        wait_until(
            lambda: (
                job_of(shared.api, job_id)["counts"]["succeeded"] >= 8
                and bool(leased_by(shared.database_url, job_id, "doomed"))
            ),
            lambda: f"no progress:\n{doomed.log()}\n{survivor.log()}",
        )
        # Frozen first, so that what it holds cannot change between reading it and the kill.
        doomed.signal(signal.SIGSTOP)
        time.sleep(0.3)
        held = leased_by(shared.database_url, job_id, "doomed")
        doomed.signal(signal.SIGKILL)
        assert doomed.wait() == -signal.SIGKILL
        killed_at = time.monotonic()
        wait_for_final(shared.api, job_id, WAIT)
        recovered = time.monotonic() - killed_at
        assert survivor.drain() == 0, survivor.log()
    assert held, "the killed worker held no lease"
    # A result it had sent before it froze may still land (a busy server reads it after the
    # kill); every other task it held is delivered again.
    landed = answered_by(shared.database_url, held, "doomed")
    again = {t for t, n in attempts(shared.database_url, held).items() if n >= 2}
    assert landed | again == held, (landed, again, held)
    assert not landed & again, (landed, again)
    integrity = check_job_integrity(
        shared.database_url,
        job_id,
        project.image_ids,
        api=shared.api,
        status="succeeded",
        detections=1,
    )
    report(
        "worker SIGKILLed mid-batch",
        images=40,
        held_at_kill=len(held),
        redelivered=integrity.redelivered,
        job_done_after_kill_s=recovered,
    )


def test_worker_paused_past_its_lease(shared: Site, tmp_path: Path) -> None:
    """SIGSTOP a worker past its lease, SIGCONT it: its late results are duplicates."""
    shared.images.delay = 0.0
    project = new_project(shared.api, 16, "sigstop", seed=1000)
    job_id = new_job(shared.api, project.id, lease_seconds=2, max_attempts=3)
    running_job(shared.api, job_id)
    journal, out = tmp_path / "paused.jsonl", tmp_path / "paused.json"
    paused = start_worker(
        shared.platform, job_id, PIPELINE, out, batch_size=4, pause=1.0, journal=journal
    )
    try:
        wait_until(
            lambda: journal.exists() and journal.read_text().endswith("\n"),
            lambda: out.with_suffix(".log").read_text(),
        )
        os.kill(paused.pid, signal.SIGSTOP)
        held = {int(t) for t in json.loads(journal.read_text().splitlines()[0])}
        stopped_at = time.monotonic()
        url, folder = shared.platform.url, shared.folder
        with workers(Worker(url, project.token, folder, "taker", "--batch-size", "4")) as (taker,):
            wait_for_final(shared.api, job_id, WAIT)
            assert taker.drain() == 0, taker.log()
        paused_for = time.monotonic() - stopped_at
        redelivered = attempts(shared.database_url, held)
        assert all(n >= 2 for n in redelivered.values()), redelivered
        os.kill(paused.pid, signal.SIGCONT)
        assert paused.wait(WAIT) == 0, out.with_suffix(".log").read_text()
    finally:
        if paused.poll() is None:
            paused.kill()
            paused.wait()
    late = WorkLog.from_json(json.loads(out.read_text()))
    # The job had ended by the time it woke: every late result is a duplicate, none stored.
    assert {t: late.statuses[t] for t in held} == {t: ["duplicate"] for t in held}
    integrity = check_job_integrity(
        shared.database_url,
        job_id,
        project.image_ids,
        api=shared.api,
        work=[late],
        status="succeeded",
        detections=1,
    )
    report(
        "worker paused past its lease",
        images=16,
        lease_s=2,
        paused_s=paused_for,
        late_results=len(held),
        told=integrity.told,
    )


def test_answer_lost_after_commit_is_retried_as_duplicate(shared: Site) -> None:
    """The connection drops after the server stored a result: the retry is answered duplicate."""
    shared.images.delay = 0.0
    project = new_project(shared.api, 30, "lost answers", seed=2000)
    job_id = new_job(shared.api, project.id, lease_seconds=60)
    running_job(shared.api, job_id)
    cutter = ResponseCutter(_port(shared))
    try:
        with http_client(cutter.url, shared.platform.token) as through:
            claimed = through.post(f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": 6})
            assert claimed.status_code == 200, claimed.text
            tasks = claimed.json()["tasks"]
            ids = {int(t["id"]) for t in tasks}
            body = {"results": [result_for(t, PIPELINE) for t in tasks]}
            cutter.cut_next(1)
            with pytest.raises(httpx.TransportError):
                through.post(f"/api/v2/jobs/{job_id}/result/", json=body)
            stored = select(
                shared.database_url,
                "SELECT id FROM tasks WHERE job_id = :job AND status = 'succeeded'",
                job=job_id,
            )
            assert {row[0] for row in stored} == ids, "the server did not commit before the cut"
            retried = through.post(f"/api/v2/jobs/{job_id}/result/", json=body)
            assert retried.status_code == 200, retried.text
            assert {
                int(t["task_id"]): t["status"] for t in retried.json()["tasks"]
            } == dict.fromkeys(ids, "duplicate")

        # A real worker through the same proxy loses the answers to its first three posts,
        # and retries them.
        cutter.cut_next(3)
        with workers(
            Worker(cutter.url, project.token, shared.folder, "unlucky", "--batch-size", "4")
        ) as (worker,):
            wait_for_final(shared.api, job_id, WAIT)
            wait_until(
                lambda: all(cutter.answered_after_loss().values()),
                lambda: f"lost posts not retried: {cutter.answered_after_loss()}\n{worker.log()}",
            )
            assert worker.drain() == 0, worker.log()
    finally:
        cutter.close()
    assert len(cutter.dropped) == 4
    after_loss = cutter.answered_after_loss()
    assert set(map(tuple, after_loss.values())) == {("duplicate",)}, after_loss
    told = cutter.work_log()
    integrity = check_job_integrity(
        shared.database_url,
        job_id,
        project.image_ids,
        api=shared.api,
        work=[told],
        status="succeeded",
        detections=1,
    )
    report(
        "answer lost after the commit",
        images=30,
        answers_dropped=len(cutter.dropped),
        items_in_dropped_answers=len(after_loss),
        told=integrity.told,
    )


def test_poison_image_dead_letters_without_holding_up_the_rest(shared: Site) -> None:
    """A corrupt image fails max_attempts times and is dead-lettered; the others go on."""
    shared.images.delay = 0.0
    project = new_project(shared.api, 30, "poison", seed=3000)
    poison, sha = next(iter(project.images.items()))
    _blob(shared.data_dir, sha).write_bytes(b"\xff\xd8 not a jpeg at all")
    job_id = new_job(shared.api, project.id, lease_seconds=30, max_attempts=2)
    url, token, folder = shared.platform.url, project.token, shared.folder
    with workers(
        Worker(url, token, folder, "p1", "--burst", "--batch-size", "4"),
        Worker(url, token, folder, "p2", "--burst", "--batch-size", "4"),
    ) as crew:
        for worker in crew:
            assert worker.wait() == 0, worker.log()
    job = wait_for_final(shared.api, job_id, WAIT)
    assert job["status"] == "completed_with_errors", job
    (dead,) = [t for t in _tasks(shared.api, job_id) if t["status"] == "failed"]
    assert dead["image_id"] == poison
    assert dead["attempts"] == 2
    assert "could not be decoded" in dead["last_error"]
    good_done, dead_at = select(
        shared.database_url,
        "SELECT max(finished_at) FILTER (WHERE status = 'succeeded'),"
        " max(finished_at) FILTER (WHERE status = 'failed')"
        " FROM tasks WHERE job_id = :job",
        job=job_id,
    )[0]
    assert good_done < dead_at, "the other images waited for the poison one"
    started = select(
        shared.database_url, "SELECT started_at FROM jobs WHERE id = :job", job=job_id
    )[0][0]
    check_job_integrity(
        shared.database_url,
        job_id,
        project.image_ids,
        api=shared.api,
        status="completed_with_errors",
        detections=1,
    )
    report(
        "poison image",
        images=30,
        max_attempts=2,
        others_done_s=(good_done - started).total_seconds(),
        dead_lettered_s=(dead_at - started).total_seconds(),
    )


def test_cancel_while_workers_hold_leases(shared: Site) -> None:
    """Nothing is handed out once the cancel returns; results that come later are rejected."""
    project = new_project(shared.api, 80, "cancel", seed=4000)
    job_id = new_job(shared.api, project.id, lease_seconds=300)
    running_job(shared.api, job_id)
    held: list[dict[str, Any]] = []
    claims: list[tuple[float, int]] = []  # (sent at, tasks received)
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def claimer(across_jobs: bool) -> None:
        try:
            with http_client(shared.platform.url, project.token) as client:
                while not stop.is_set():
                    sent = time.monotonic()
                    # A claim racing the cancel on NATS may be answered 503 (the job's
                    # consumer deleted under its pull): waited out, as workers do.
                    if across_jobs:
                        body = {"pipelines": [PIPELINE], "batch_size": 1}
                        path = "/api/v2/tasks/next/"
                    else:
                        body, path = {"batch_size": 1}, f"/api/v2/jobs/{job_id}/tasks/"
                    answer = patient_claim(client, path, body, sent + WAIT)
                    assert answer.status_code == 200, answer.text
                    got = answer.json()["tasks"]
                    with lock:
                        claims.append((sent, len(got)))
                        held.extend(got)
                    time.sleep(0.03)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(n % 2 == 0,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(held) >= 10, lambda: f"claimers got nothing: {errors}")
        canceled = shared.api.post(f"/api/v2/jobs/{job_id}/cancel/")
        canceled_at = time.monotonic()
        assert canceled.status_code == 200, canceled.text
        # The claimers keep asking after the cancel: a few rounds of each.
        wait_until(
            lambda: sum(1 for sent, _ in list(claims) if sent > canceled_at) >= 12,
            lambda: f"the claimers stopped asking after the cancel: {errors}",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(WAIT)
    assert not errors, errors
    late_claims = [n for sent, n in claims if sent > canceled_at]
    assert late_claims, "no claim was sent after the cancel"
    assert sum(late_claims) == 0, "tasks were handed out after the cancel returned"

    with http_client(shared.platform.url, project.token) as client:
        posted = client.post(
            f"/api/v2/jobs/{job_id}/result/",
            json={"results": [result_for(t, PIPELINE) for t in held]},
        )
    assert posted.status_code == 200, posted.text
    late = WorkLog()
    for item in posted.json()["tasks"]:
        late.statuses.setdefault(int(item["task_id"]), []).append(item["status"])
        assert "canceled" in item["detail"], item
    assert {s for v in late.statuses.values() for s in v} == {"rejected"}
    assert drain(shared.api, job_id, PIPELINE, batch_size=10).batches == []
    integrity = check_job_integrity(
        shared.database_url, job_id, project.image_ids, api=shared.api, status="canceled"
    )
    assert integrity.counts["canceled"] == 80
    report(
        "job canceled while workers hold leases",
        images=80,
        leases_held_at_cancel=len(held),
        claims_after_cancel=len(late_claims),
        late_results_rejected=len(late.statuses),
    )


def _port(live: Site) -> int:
    return int(live.platform.url.rsplit(":", 1)[1])


def _tasks(api: httpx.Client, job_id: int) -> list[dict[str, Any]]:
    answer = api.get(f"/api/v2/jobs/{job_id}/tasks", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["results"])


def _blob(data_dir: Path, sha256: str) -> Path:
    for path in (data_dir / "blobs").rglob("*"):
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256:
            return path
    raise AssertionError(f"no blob with sha256 {sha256}")
