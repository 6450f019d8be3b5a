"""The JetStream queue's NATS server dies in the middle of a job (NATS only).

SIGKILLed and started again on the same store, or started on a wiped store: either way the
database still knows every task, so claims answer 503 meanwhile and the dispatch reconciler
republishes every queued task the stream no longer holds once NATS is back.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.support.databases import PostgresDatabases
from tests.support.faults import check_job_integrity, wait_for_final
from tests.support.waiting import WAIT, wait_until
from tests.system.faults.harness import (
    Worker,
    job_of,
    new_job,
    new_project,
    queue_for,
    report,
    select,
    site,
    workers,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.nats,
    pytest.mark.timeout(60),
]

#: Tasks the claims of the two workers (batches of 4) may hold between NATS and the database.
IN_FLIGHT = 2 * 4
#: The reconciler's line for tasks it published again.
REPUBLISHED = re.compile(r"had (\d+) queued tasks missing from the stream; republished")


@pytest.mark.parametrize("wipe", [False, True], ids=["killed", "wiped"])
def test_nats_dies_mid_job(
    wipe: bool, tmp_path: Path, postgres_databases: PostgresDatabases
) -> None:
    with (
        queue_for("nats", tmp_path / "nats") as (queue_url, nats),
        site(
            tmp_path, postgres_databases, queue_url, delay=0.05, NATS_RECONCILE_INTERVAL="1"
        ) as live,
    ):
        assert nats is not None
        project = new_project(live.api, 80, "nats outage")
        job_id = new_job(live.api, project.id, lease_seconds=5, max_attempts=5)
        url, token, folder = live.platform.url, project.token, live.folder
        with workers(
            Worker(url, token, folder, "n1", "--batch-size", "4"),
            Worker(url, token, folder, "n2", "--batch-size", "4"),
        ) as crew:
            wait_until(
                lambda: job_of(live.api, job_id)["counts"]["succeeded"] >= 16,
                lambda: "\n".join(w.log() for w in crew),
            )
            nats.kill()
            killed_at = time.monotonic()
            if wipe:
                nats.wipe_store()
            queued = select(
                live.database_url,
                "SELECT count(*) FROM tasks WHERE job_id = :job AND status = 'queued'",
                job=job_id,
            )[0][0]
            # While NATS is away a claim is refused quickly, with a hint when to come back.
            started = time.monotonic()
            refused = live.api.post(f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": 1})
            refused_in = time.monotonic() - started
            assert refused.status_code == 503, refused.text
            assert int(refused.headers["retry-after"]) >= 1
            time.sleep(1.0)
            nats.start()
            down_for = time.monotonic() - killed_at
            wait_for_final(live.api, job_id, WAIT)
            finished_after = time.monotonic() - killed_at - down_for
            for worker in crew:
                assert worker.drain() == 0, worker.log()

        def republished() -> int:
            return sum(int(n) for n in REPUBLISHED.findall(live.platform.server.log()))

        if wipe:
            # Nothing else knew of the tasks that were only queued: the reconciler did it. A
            # claim under way at the kill (a batch per worker) may still turn tasks counted
            # as queued into leased ones, which need no republishing.
            assert queued > IN_FLIGHT
            wait_until(
                lambda: republished() >= queued - IN_FLIGHT,
                lambda: f"{republished()} < {queued} - {IN_FLIGHT}",
            )
        integrity = check_job_integrity(
            live.database_url,
            job_id,
            project.image_ids,
            api=live.api,
            status="succeeded",
            detections=1,
        )
    report(
        f"NATS {'wiped' if wipe else 'SIGKILLed'} mid-job",
        images=80,
        queued_at_kill=queued,
        claim_refused_in_s=refused_in,
        nats_down_s=down_for,
        job_done_after_restart_s=finished_after,
        republished=republished(),
        redelivered=integrity.redelivered,
    )
