"""Two ``trapline serve`` replicas over one PostgreSQL and one queue: one is SIGKILLed.

Workers using the other replica carry on, the killed one restarts cleanly and serves again,
and each background duty runs on one replica at a time, moving to the survivor within its
lease when its replica dies.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.support.databases import PostgresDatabases
from tests.support.faults import check_job_integrity, wait_for_final
from tests.support.processes import Server, running
from tests.support.protocol import http_client
from tests.support.waiting import WAIT, wait_until
from tests.support.workers import drain
from tests.system.faults.harness import (
    PIPELINE,
    QUEUES,
    Worker,
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

#: Each test starts two or three servers and their workers: on a machine loaded to four times
#: its cores (a benchmark load beside the suite) the killed replica's test took over 60 s.
pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(180)]

#: Shortest lease of a duty in the test of duties moving: long enough that a loaded machine
#: never lets a live replica's lease lapse between its renewals (a second apart).
DUTY_LEASE = 8


@pytest.mark.parametrize("queue", QUEUES)
def test_replica_killed_while_workers_use_it(
    queue: str, tmp_path: Path, postgres_databases: PostgresDatabases
) -> None:
    with (
        queue_for(queue, tmp_path / "nats") as (queue_url, _),
        site(tmp_path, postgres_databases, queue_url, delay=0.1) as first,
        running(["serve"], cwd=tmp_path, env=first.platform.env) as second,
        http_client(second.url, first.platform.token) as via_second,
    ):
        doomed = first.platform.server
        first.images.upstream = second.url  # images stay reachable while the first is down
        project = new_project(first.api, 80, "replicas")
        job_id = new_job(first.api, project.id, lease_seconds=4, max_attempts=5)
        db = first.database_url
        with workers(
            Worker(doomed.url, project.token, tmp_path, "via-first", "--batch-size", "4"),
            Worker(second.url, project.token, tmp_path, "via-second", "--batch-size", "4"),
        ) as (on_first, on_second):
            wait_until(
                lambda: (
                    _succeeded(via_second, job_id) >= 12
                    and bool(leased_by(db, job_id, "via-first"))
                ),
                lambda: f"no progress:\n{on_first.log()}\n{on_second.log()}",
            )
            doomed.process.send_signal(signal.SIGKILL)
            assert doomed.process.wait(WAIT) == -signal.SIGKILL
            killed_at = time.monotonic()
            at_kill = _succeeded(via_second, job_id)
            wait_until(
                lambda: _succeeded(via_second, job_id) >= at_kill + 12,
                lambda: f"no progress through the survivor:\n{on_second.log()}",
            )
            down_for = time.monotonic() - killed_at
            during_outage = _succeeded(via_second, job_id) - at_kill
            with running(
                ["serve"], cwd=tmp_path, env=first.platform.env, port=_port(doomed)
            ) as back:
                restarted_in = time.monotonic() - killed_at - down_for
                wait_for_final(via_second, job_id, WAIT)
                with http_client(back.url, first.platform.token) as via_back:
                    assert job_of(via_back, job_id)["status"] == "succeeded"
                    assert httpx.get(f"{back.url}/readyz").status_code == 200
                assert on_first.drain() == 0, on_first.log()
                assert on_second.drain() == 0, on_second.log()
        assert "retry" in on_first.log()
        integrity = check_job_integrity(
            db, job_id, project.image_ids, api=via_second, status="succeeded", detections=1
        )
    report(
        f"replica SIGKILLed ({queue})",
        images=80,
        done_at_kill=at_kill,
        done_through_survivor_while_down=during_outage,
        down_s=down_for,
        restart_s=restarted_in,
        redelivered=integrity.redelivered,
    )


@pytest.mark.parametrize("queue", QUEUES)
def test_duties_run_on_one_replica_and_move_within_their_lease(
    queue: str, tmp_path: Path, postgres_databases: PostgresDatabases
) -> None:
    with (
        queue_for(queue, tmp_path / "nats") as (queue_url, _),
        # Short intervals and leases: the duties run every second (the reaper every half) and
        # the reaper's lease, which the survivor waits out, is 8 s (15 s by default).
        site(
            tmp_path,
            postgres_databases,
            queue_url,
            STATUS_INTERVAL="1",
            NATS_RECONCILE_INTERVAL="1",
            DUTY_MIN_LEASE=str(DUTY_LEASE),
        ) as first,
    ):
        db = first.database_url
        doomed = first.platform.server
        wait_until(
            lambda: _holders(db) and set(_holders(db).values()) == {doomed.process.pid},
            lambda: f"the first replica holds no duty: {_holders(db)}",
        )
        with (
            running(["serve"], cwd=tmp_path, env=first.platform.env) as second,
            http_client(second.url, first.platform.token) as via_second,
        ):
            project = new_project(first.api, 6, "duties")
            # Leases of one second, claimed and never answered: only the reaper frees them.
            job_id = new_job(first.api, project.id, lease_seconds=1, max_attempts=20)
            running_job(first.api, job_id)

            _abandon_and_wait_for_reaper(via_second, db, job_id)
            held = _sample_holders(db, 1.5)
            assert set(held.values()) == {frozenset({doomed.process.pid})}, (
                f"a duty changed hands while both replicas ran: {held}"
            )
            # The reaper logs once the requeued tasks are also published (NATS): a moment later.
            _wait_for_reaper_line(doomed)
            assert "lease reaper:" not in second.log(), "the reaper ran on both replicas"

            remaining = dict(
                select(
                    db,
                    "SELECT name, EXTRACT(EPOCH FROM expires_at - now()) FROM duty_leases",
                )
            )
            doomed.process.send_signal(signal.SIGKILL)
            assert doomed.process.wait(WAIT) == -signal.SIGKILL
            killed_at = time.monotonic()
            reaper_lease = float(remaining["lease-reaper"])
            wait_until(
                lambda: _holders(db).get("lease-reaper") == second.process.pid,
                lambda: f"the reaper did not move: {_holders(db)}",
                timeout=reaper_lease + 10,
            )
            moved_in = time.monotonic() - killed_at
            _abandon_and_wait_for_reaper(via_second, db, job_id)
            _wait_for_reaper_line(second)
            # Every duty whose lease ran out by now moved too (job recovery's lease is longer).
            wait_until(
                lambda: all(
                    _holders(db)[name] == second.process.pid
                    for name, left in remaining.items()
                    if float(left) < time.monotonic() - killed_at - 2
                ),
                lambda: f"duties left behind: {_holders(db)}",
                timeout=5,
            )
            moved = {name for name, pid in _holders(db).items() if pid == second.process.pid}
            with (
                running(
                    ["serve"], cwd=tmp_path, env=first.platform.env, port=_port(doomed)
                ) as back,
                http_client(back.url, first.platform.token) as via_back,
            ):
                # The restarted replica serves, and leaves the live replica's duties alone.
                held = _sample_holders(db, 1.5)
                assert {held[name] for name in moved} == {frozenset({second.process.pid})}, held
                work = drain(via_back, job_id, PIPELINE, batch_size=10)
                wait_for_final(via_back, job_id, WAIT)
                integrity = check_job_integrity(
                    db, job_id, project.image_ids, api=via_back, work=[work], status="succeeded"
                )
    assert integrity.most_attempts >= 2  # an abandoned lease, then the answered one
    report(
        f"duties move with a replica's death ({queue})",
        reaper_lease_left_at_kill_s=reaper_lease,
        reaper_moved_after_s=moved_in,
        moved=sorted(moved),
    )


def _abandon_and_wait_for_reaper(client: httpx.Client, db: str, job_id: int) -> None:
    """Claim two tasks, never answer, and wait until the reaper puts them back in the queue."""
    ids: list[int] = []

    def two_held() -> bool:
        # A running job's messages may reach NATS a moment after its commit: claim until held.
        answer = client.post(f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": 2 - len(ids)})
        assert answer.status_code == 200, answer.text
        ids.extend(int(t["id"]) for t in answer.json()["tasks"])
        return len(ids) == 2

    wait_until(two_held, lambda: f"only tasks {ids} to claim", timeout=WAIT / 2)

    def requeued() -> bool:
        rows = select(db, "SELECT status FROM tasks WHERE id = ANY(:ids)", ids=ids)
        return {status for (status,) in rows} == {"queued"}

    wait_until(requeued, lambda: f"tasks {ids} were never reaped", timeout=WAIT / 2)


def _wait_for_reaper_line(server: Server) -> None:
    wait_until(
        lambda: "lease reaper:" in server.log(),
        lambda: f"no reaper run in {server.url}'s log",
        timeout=5,
    )


def _holders(db: str) -> dict[str, int]:
    """Each duty's holder, as the process id in its identity (``host:pid:random``)."""
    rows = select(db, "SELECT name, holder FROM duty_leases")
    return {name: int(holder.split(":")[-2]) for name, holder in rows}


def _sample_holders(db: str, seconds: float) -> dict[str, frozenset[int]]:
    """Every process seen holding each duty during ``seconds``."""
    seen: dict[str, frozenset[int]] = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for name, pid in _holders(db).items():
            seen[name] = seen.get(name, frozenset()) | {pid}
        time.sleep(0.1)
    return seen


def _succeeded(client: httpx.Client, job_id: int) -> int:
    return int(job_of(client, job_id)["counts"]["succeeded"])


def _port(server: Server) -> int:
    return int(server.url.rsplit(":", 1)[1])
