"""The server's PostgreSQL connections are terminated again and again in the middle of a job.

``pg_terminate_backend`` kills every backend of the test database about every half second
(at random, so the kills never fall into step with the workers' retries), as a failover or an
administrator would. The job still completes with every result stored once,
the server never answers 500, and it answers normally afterwards without a restart.

Leases last the default five minutes here, so a claim that leased tasks but never got its
answer out would hold the job up far past the test's patience: every lease granted must
reach its worker.
"""

from __future__ import annotations

import random
import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.databases import POSTGRES_ADMIN_URL, PostgresDatabases
from tests.support.faults import check_job_integrity, wait_for_final
from tests.support.waiting import WAIT
from tests.system.faults.harness import (
    QUEUES,
    Worker,
    new_job,
    new_project,
    queue_for,
    report,
    site,
    workers,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(60)]

#: Seconds between two rounds of terminations: from, to.
EVERY = (0.25, 0.75)
#: An access-log line of an answer the server failed to give.
SERVER_ERROR = re.compile(r" (?:GET|POST|PUT|PATCH|DELETE) \S+ 500 ")


@pytest.mark.parametrize("queue", QUEUES)
def test_backends_terminated_mid_job(
    queue: str, tmp_path: Path, postgres_databases: PostgresDatabases
) -> None:
    with (
        queue_for(queue, tmp_path / "nats") as (queue_url, _),
        site(tmp_path, postgres_databases, queue_url, delay=0.05) as live,
    ):
        project = new_project(live.api, 60, "terminated")
        # Two jobs, so that claims across jobs (/tasks/next/) lease from both in one call.
        halves = [project.image_ids[:30], project.image_ids[30:]]
        jobs = {
            new_job(live.api, project.id, image_ids=half, lease_seconds=300, max_attempts=5): half
            for half in halves
        }
        database = make_url(live.database_url).database
        terminated: list[int] = []
        stop = threading.Event()

        def terminate() -> None:
            engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            try:
                while not stop.wait(random.uniform(*EVERY)):
                    with engine.connect() as connection:
                        killed = connection.execute(
                            text(
                                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                                " WHERE datname = :db AND pid <> pg_backend_pid()"
                            ),
                            {"db": database},
                        ).scalar_one()
                    terminated.append(int(killed))
            finally:
                engine.dispose()

        terminator = threading.Thread(target=terminate)
        url, token, folder = live.platform.url, project.token, live.folder
        started = time.monotonic()
        with workers(
            Worker(url, token, folder, "t1", "--batch-size", "2"),
            Worker(url, token, folder, "t2", "--batch-size", "2"),
        ) as crew:
            terminator.start()
            try:
                for job_id in jobs:
                    wait_for_final(live.api, job_id, WAIT)
            finally:
                stop.set()
                terminator.join(WAIT)
            took = time.monotonic() - started
            for worker in crew:
                assert worker.drain() == 0, worker.log()

        # No restart: the same process answers every call normally right away.
        assert live.platform.server.process.poll() is None
        for job_id in [*jobs] * 5:
            assert live.api.get(f"/api/v2/jobs/{job_id}").status_code == 200
            claimed = live.api.post(f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": 1})
            assert claimed.status_code == 200, claimed.text
            assert httpx.get(f"{url}/readyz").status_code == 200
        log = live.platform.server.log()
        failed = [line for line in log.splitlines() if SERVER_ERROR.search(line)]
        # The first traceback says which error escaped the mapping to 503.
        assert not failed, (failed, log[log.find("Traceback") :][:6000])
        redelivered = 0
        for job_id, images in jobs.items():
            integrity = check_job_integrity(
                live.database_url,
                job_id,
                images,
                api=live.api,
                status="succeeded",
                detections=1,
            )
            redelivered += integrity.redelivered
    assert redelivered == 0, "a task was delivered twice though no worker failed"
    killed = sum(terminated)
    assert len(terminated) >= 3, terminated
    assert killed > 0, terminated
    report(
        f"PostgreSQL backends terminated ({queue})",
        images=60,
        jobs=len(jobs),
        rounds=len(terminated),
        backends_killed=killed,
        answered_503=log.count(" 503 "),
        job_s=took,
        redelivered=redelivered,
    )
