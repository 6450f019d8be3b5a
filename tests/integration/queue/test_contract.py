"""What every TaskQueue promises, checked against the SQL queue (SQLite, PostgreSQL) and the
JetStream queue: the database decides every task, whatever carries dispatch."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from tests.support.queue_bench import (
    QueueBench,
    claim_until,
    claims_of,
    complete,
    fail,
    failing_writes,
)
from tests.support.waiting import wait_until
from trapline.domain.core.records import ImageFilter
from trapline.domain.core.retry import RetryPolicy
from trapline.domain.processing.jobs import JobStatus, Lease, TaskStatus
from trapline.errors import Unavailable
from trapline.queue.channel import DispatchChannel
from trapline.queue.nats import ACK_WAIT
from trapline.services.processing.jobs import finish_if_done


def test_enqueue_is_idempotent(queue_bench: QueueBench) -> None:
    job = queue_bench.job(5)
    images = sorted(t.image_id for t in queue_bench.tasks(job).values())
    assert queue_bench.queue.enqueue(job, ImageFilter(), image_ids=images) == 5
    assert queue_bench.queue.enqueue(job, ImageFilter(), image_ids=images) == 5
    queue_bench.assert_channel_follows_database(job)

    leases = queue_bench.claim(job, 10)
    assert sorted(x.task_id for x in leases) == sorted(queue_bench.tasks(job))
    assert {x.attempt for x in leases} == {1}
    assert queue_bench.claim(job, 10) == []


def test_claim_respects_the_batch_size(queue_bench: QueueBench) -> None:
    job = queue_bench.job(10)
    sizes = [len(queue_bench.claim(job, n)) for n in (3, 4, 10, 1)]
    assert sizes == [3, 4, 3, 0]


def test_claims_across_jobs_share_fairly(queue_bench: QueueBench) -> None:
    big, small, tiny = queue_bench.job(30), queue_bench.job(4), queue_bench.job(1)
    jobs = {j.id: j.params.lease_seconds for j in (big, small, tiny)}
    first = Counter(x.job_id for x in queue_bench.queue.claim(jobs, 6, "w"))
    # Each job is offered an equal share (2 of 6); the tiny job's unused share goes to others.
    assert first[tiny.id] == 1
    assert first[small.id] >= 2
    assert sum(first.values()) == 6
    second = Counter(x.job_id for x in queue_bench.queue.claim(jobs, 6, "w"))
    assert second[small.id] == 4 - first[small.id], "the small job waited behind the big one"
    assert sum(second.values()) == 6
    rest = Counter(x.job_id for x in queue_bench.queue.claim(jobs, 100, "w"))
    assert rest == {big.id: 30 - first[big.id] - second[big.id]}


def test_a_leased_task_is_not_handed_out_again(queue_bench: QueueBench) -> None:
    job, other = queue_bench.job(5), queue_bench.job(2)
    leases = queue_bench.claim(job, 5)
    assert len(leases) == 5
    assert queue_bench.claim(job, 5) == []
    across = queue_bench.queue.claim({job.id: 60, other.id: 60}, 10, "w")
    assert {x.job_id for x in across} == {other.id}
    queue_bench.queue.reap()  # nothing expired: nothing moves
    assert queue_bench.claim(job, 5) == []
    assert {t.status for t in queue_bench.tasks(job).values()} == {TaskStatus.LEASED}
    queue_bench.assert_channel_follows_database(job)


def test_extending_a_lease_keeps_it(queue_bench: QueueBench) -> None:
    job = queue_bench.job(3, lease_seconds=1)
    leases = queue_bench.claim(job, 2)
    held = queue_bench.queue.extend(claims_of(leases), 60)
    assert held == {x.task_id for x in leases}
    queue_bench.clock.advance(1.3)
    requeued, dead, _ = queue_bench.queue.reap()
    assert (requeued, dead) == (0, 0)
    rest = queue_bench.claim(job, 5)
    assert {x.task_id for x in rest}.isdisjoint(held)
    assert queue_bench.claim(job, 5) == []


def test_an_expired_lease_is_reaped_and_handed_out_again(queue_bench: QueueBench) -> None:
    job = queue_bench.job(3, lease_seconds=1)
    first = queue_bench.claim(job, 3)
    assert {x.attempt for x in first} == {1}
    queue_bench.clock.advance(1.3)
    requeued, dead, jobs = queue_bench.queue.reap()
    assert (requeued, dead, jobs) == (3, 0, {job.id})
    queue_bench.assert_channel_follows_database(job)

    second = claim_until(queue_bench, {job.id: 1}, 3)
    assert sorted(x.task_id for x in second) == sorted(x.task_id for x in first)
    assert {x.attempt for x in second} == {2}
    assert {x.lease_id for x in second}.isdisjoint({x.lease_id for x in first})
    late = claims_of(first)  # the first holder's leases no longer count
    assert queue_bench.queue.extend(late, 60) == set()


def test_a_failed_try_is_retried_after_its_backoff(queue_bench: QueueBench) -> None:
    job = queue_bench.job(1)
    (lease,) = queue_bench.claim(job, 1)
    policy = RetryPolicy(max_attempts=3, base_delay=0.6)
    assert fail(queue_bench, lease, policy) is TaskStatus.QUEUED
    assert queue_bench.claim(job, 1) == []  # within its backoff
    queue_bench.assert_channel_follows_database(job)

    queue_bench.clock.advance(0.6)
    (again,) = claim_until(queue_bench, {job.id: 60}, 1)
    assert (again.task_id, again.attempt) == (lease.task_id, 2)
    assert queue_bench.tasks(job)[lease.task_id].last_error == "boom"


def test_a_task_is_dead_lettered_after_its_last_try(queue_bench: QueueBench) -> None:
    job = queue_bench.job(2, max_attempts=2, lease_seconds=1)
    policy = RetryPolicy(max_attempts=2, base_delay=0.2)
    first = queue_bench.claim(job, 2)
    by_error, by_expiry = first
    assert fail(queue_bench, by_error, policy) is TaskStatus.QUEUED
    queue_bench.clock.advance(1.3)  # the other lease runs out
    assert queue_bench.queue.reap()[:2] == (1, 0)

    second = claim_until(queue_bench, {job.id: 1}, 2)
    if len(second) < 2:
        second += claim_until(queue_bench, {job.id: 1}, 2)
    assert {x.attempt for x in second} == {2}
    last_error = next(x for x in second if x.task_id == by_error.task_id)
    assert fail(queue_bench, last_error, policy) is TaskStatus.FAILED
    queue_bench.clock.advance(1.3)
    assert queue_bench.queue.reap()[:2] == (0, 1)

    tasks = queue_bench.tasks(job)
    assert {t.status for t in tasks.values()} == {TaskStatus.FAILED}
    assert tasks[by_error.task_id].last_error == "boom"
    assert tasks[by_expiry.task_id].last_error == "lease expired on every try"
    time.sleep(0.3)
    assert queue_bench.claim(job, 2) == []
    queue_bench.assert_channel_follows_database(job)


def test_failed_tasks_retried_by_a_user_are_handed_out_again(queue_bench: QueueBench) -> None:
    job = queue_bench.job(2, max_attempts=1)
    for lease in queue_bench.claim(job, 2):
        assert fail(queue_bench, lease, RetryPolicy(max_attempts=1)) is TaskStatus.FAILED
    with queue_bench.db.write() as repos:
        assert repos.processing.tasks.retry_failed(job.id, now=queue_bench.clock.now()) == 2
    queue_bench.queue.notify_queued(job.id)

    again = claim_until(queue_bench, {job.id: 60}, 2)
    if len(again) < 2:
        again += claim_until(queue_bench, {job.id: 60}, 2)
    assert sorted(x.task_id for x in again) == sorted(queue_bench.tasks(job))
    assert {x.attempt for x in again} == {1}


def test_cancel_releases_everything(queue_bench: QueueBench) -> None:
    job = queue_bench.job(6)
    leased = queue_bench.claim(job, 2)
    with queue_bench.db.write() as repos:
        assert repos.processing.jobs.transition(
            job.id, [JobStatus.RUNNING], JobStatus.CANCELED, "test"
        )
        assert repos.processing.tasks.cancel_job(job.id, now=queue_bench.clock.now()) == 6
    queue_bench.queue.finished(job.id)

    assert queue_bench.claim(job, 10) == []
    assert queue_bench.queue.extend(claims_of(leased), 60) == set()
    assert queue_bench.queue.reap()[:2] == (0, 0)
    assert {t.status for t in queue_bench.tasks(job).values()} == {TaskStatus.CANCELED}
    queue_bench.assert_channel_follows_database(job)


def test_completed_tasks_are_acknowledged_and_never_handed_out_again(
    queue_bench: QueueBench,
) -> None:
    job = queue_bench.job(4, lease_seconds=1)
    leases = queue_bench.claim(job, 3)
    complete(queue_bench, leases[:2])
    # The third lease expires; the completed ones are no leases any more.
    queue_bench.clock.advance(1.3)
    assert queue_bench.queue.reap()[:2] == (1, 0)
    rest = claim_until(queue_bench, {job.id: 60}, 4)
    if len(rest) < 2:
        rest += claim_until(queue_bench, {job.id: 60}, 4)
    assert sorted(x.task_id for x in rest) == sorted(
        set(queue_bench.tasks(job)) - {x.task_id for x in leases[:2]}
    )
    complete(queue_bench, rest)
    assert queue_bench.claim(job, 4) == []
    queue_bench.assert_channel_follows_database(job)


def test_a_claim_whose_database_write_fails_loses_nothing(queue_bench: QueueBench) -> None:
    job = queue_bench.job(3)
    with failing_writes(queue_bench.db), pytest.raises(Unavailable):
        queue_bench.claim(job, 3)
    assert queue_bench.queued(job) == set(queue_bench.tasks(job))
    got = claim_until(queue_bench, {job.id: 60}, 3)
    if len(got) < 3:
        got += claim_until(queue_bench, {job.id: 60}, 3)
    assert sorted(x.task_id for x in got) == sorted(queue_bench.tasks(job))
    assert {x.attempt for x in got} == {1}


def test_concurrent_claims_never_hand_out_a_task_twice(queue_bench: QueueBench) -> None:
    job, other = queue_bench.job(60), queue_bench.job(20)
    jobs = {job.id: 60, other.id: 60}
    handed: list[list[Lease]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker() -> None:
        # A queue too busy to answer in time says so (Unavailable), and a worker asks again,
        # as the real ones do: on a loaded machine eight claims at once may meet that.
        busy = 0
        try:
            start.wait()
            while True:
                try:
                    leases = queue_bench.queue.claim(jobs, 3, threading.current_thread().name)
                except Unavailable:
                    busy += 1
                    if busy > 20:
                        raise
                    continue
                if not leases:
                    return
                assert len(leases) <= 3
                handed.append(leases)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, name=f"w{n}") for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    everything = set(queue_bench.tasks(job)) | set(queue_bench.tasks(other))
    leftovers: list[Lease] = []

    def all_handed_out() -> bool:
        # A claim that gave up waiting for NATS (Unavailable) leaves the messages its pull
        # brought in flight until the ack wait hands them back (ACK_WAIT): late, never lost.
        leftovers.extend(queue_bench.queue.claim(jobs, 100, "sweeper"))
        return {x.task_id for leases in [*handed, leftovers] for x in leases} >= everything

    wait_until(all_handed_out, "every task handed out", timeout=ACK_WAIT + 20)
    counted = Counter(x.task_id for leases in [*handed, leftovers] for x in leases)
    twice = {task: n for task, n in counted.items() if n > 1}
    assert not twice, f"handed out more than once: {twice}"
    assert set(counted) == everything
    assert len({x.lease_id for leases in handed for x in leases}) == len(handed)


def test_a_finished_job_is_cleaned_up(queue_bench: QueueBench) -> None:
    job, other = queue_bench.job(3), queue_bench.job(2)
    leases = queue_bench.claim(job, 3)
    complete(queue_bench, leases)
    with queue_bench.db.write() as repos:
        assert finish_if_done(repos, job.id) is JobStatus.SUCCEEDED
    queue_bench.queue.finished(job.id)
    queue_bench.queue.finished(job.id)  # twice is harmless

    if isinstance(queue_bench.queue, DispatchChannel):  # nothing of the job is left behind
        assert queue_bench.held(job) == set()
        assert job.id not in queue_bench.queue.channel_jobs()
    assert queue_bench.claim(job, 3) == []
    assert len(queue_bench.claim(other, 5)) == 2  # other jobs are not touched
    queue_bench.assert_channel_follows_database(other)
