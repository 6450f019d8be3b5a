"""The JetStream queue beyond the contract: NATS killed, restarted or wiped under it, messages
JetStream gives up on, the reconciler, the wire format, and how the queue is chosen and closed.

Each test that breaks NATS starts a server of its own (see tests/support/nats.py).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import nats
import pytest

from tests.support.app_client import AppClient
from tests.support.databases import SqliteDatabases
from tests.support.moto import free_port
from tests.support.nats import NatsServer
from tests.support.queue_bench import (
    Factory,
    QueueBench,
    acknowledge,
    channel,
    claim_until,
    claims_of,
    complete,
    fail,
    failing_writes,
    pull_and_die,
    pull_unsettled,
    wait_stuck,
)
from tests.support.waiting import wait_until
from trapline.app import create_app
from trapline.clock import FakeClock, SystemClock
from trapline.db.engine import Database
from trapline.db.repositories.processing.dispatch import DispatchRepo
from trapline.db.repositories.processing.tasks import TaskRepo
from trapline.db.types import utcnow
from trapline.domain.core.records import ImageFilter
from trapline.domain.core.retry import RetryPolicy
from trapline.domain.processing.jobs import (
    DispatchMode,
    Job,
    JobParams,
    JobStatus,
    Lease,
    TaskStatus,
)
from trapline.errors import InvalidInput, MissingDependency, Unavailable
from trapline.platform import Platform
from trapline.queue import open_task_queue
from trapline.queue.nats import ACK_WAIT, JetStreamTaskQueue
from trapline.queue.reconciler import Reconciled, reconcile_dispatch
from trapline.queue.sql import SqlTaskQueue
from trapline.services.processing.jobs import start_job
from trapline.settings import Settings

pytestmark = pytest.mark.nats

#: The longest an unreachable NATS may hold up a claim.
UNAVAILABLE_WITHIN = 2.0
#: Seconds to wait for the queue to find a restarted server again.
RECOVERY = 20.0


def timed_unavailable(call: Callable[[], object]) -> float:
    """Seconds ``call`` took to raise Unavailable."""
    start = time.monotonic()
    with pytest.raises(Unavailable) as raised:
        call()
    assert raised.value.status_code == 503
    return time.monotonic() - start


def reconcile_when_reachable(bench: QueueBench, *, limit: int = 1000) -> Reconciled:
    """One reconciler run, waiting for the queue to reach NATS again first."""
    deadline = time.monotonic() + RECOVERY
    while True:
        try:
            return reconcile_dispatch(bench.db, channel(bench), limit=limit)
        except Unavailable:
            assert time.monotonic() < deadline, "the queue did not get back to NATS"
            time.sleep(0.2)


def drain(bench: QueueBench, jobs: dict[int, int]) -> list[Lease]:
    """Claim until nothing more comes (waiting out NATS coming back)."""
    leases: list[Lease] = []
    deadline = time.monotonic() + RECOVERY
    while time.monotonic() < deadline:
        try:
            got = bench.queue.claim(jobs, 10, "drain")
        except Unavailable:
            time.sleep(0.2)
            continue
        if not got:
            return leases
        leases += got
    raise AssertionError("claims did not come back")


def raw(url: str, work: Callable[[Any], Any]) -> Any:
    """Run ``work(jetstream context)`` on a connection of the test's own."""

    async def main() -> Any:
        client = await nats.connect(url)
        try:
            return await work(client.jetstream())
        finally:
            await client.close()

    return asyncio.run(main())


def test_killed_nats_answers_unavailable_within_two_seconds(
    server: NatsServer, nats_bench: Factory
) -> None:
    bench = nats_bench(server.url)
    job, other = bench.job(3), bench.job(2)
    assert len(bench.claim(job, 1)) == 1
    server.kill()
    for _ in range(3):
        assert timed_unavailable(lambda: bench.claim(job, 2)) < UNAVAILABLE_WITHIN
    across = {job.id: 60, other.id: 60}
    assert timed_unavailable(lambda: bench.queue.claim(across, 5, "w")) < UNAVAILABLE_WITHIN
    # Hooks after a database commit do not fail their caller: the reconciler catches up.
    start = time.monotonic()
    bench.queue.notify_queued(job.id)
    bench.queue.finished(other.id)
    assert time.monotonic() - start < 2 * UNAVAILABLE_WITHIN


def test_never_reachable_nats_answers_unavailable_within_two_seconds(nats_bench: Factory) -> None:
    bench = nats_bench(f"nats://127.0.0.1:{free_port()}")
    with pytest.raises(Unavailable):  # its tasks cannot be published: the job stays created
        bench.job(2)
    with bench.db.read() as repos:
        (job,) = repos.processing.jobs.page(
            project_ids=None,
            statuses=[],
            pipeline_slugs=[],
            incomplete_only=False,
            dispatch_mode=None,
            limit=5,
            offset=0,
        )[1]
    assert job.status is JobStatus.CREATED
    with bench.db.write() as repos:  # as if NATS had gone after the job started
        assert repos.processing.jobs.transition(
            job.id, [JobStatus.CREATED], JobStatus.RUNNING, "test"
        )
    for _ in range(4):
        took = timed_unavailable(lambda: bench.queue.claim({job.id: 60}, 1, "w"))
        assert took < UNAVAILABLE_WITHIN


def test_restarted_nats_serves_again(server: NatsServer, nats_bench: Factory) -> None:
    # A pull sent as NATS dies may be delivered to the restarted server, to an inbox nobody
    # reads any more: those messages come back after the ack wait, shortened here.
    bench = nats_bench(server.url, ack_wait=2.0)
    job = bench.job(6)
    first = bench.claim(job, 2)
    time.sleep(0.3)  # JetStream writes its store lazily; give it a moment before the kill
    server.kill()
    with pytest.raises(Unavailable):
        bench.claim(job, 2)
    server.start()

    handed = [x.task_id for x in first]
    deadline = time.monotonic() + RECOVERY
    while sorted(handed) != sorted(bench.tasks(job)):
        assert time.monotonic() < deadline, f"only {sorted(handed)} handed out again"
        handed += [x.task_id for x in drain(bench, {job.id: 60})]
        # Whatever JetStream lost in the kill, the reconciler offers again.
        reconcile_when_reachable(bench)
        time.sleep(0.2)
    assert len(handed) == len(set(handed)), f"handed out twice: {handed}"
    assert bench.queued(job) == set()
    assert bench.claim(job, 10) == []
    bench.assert_channel_follows_database(job)


def test_wiped_store_is_restored_by_the_reconciler(server: NatsServer, nats_bench: Factory) -> None:
    bench = nats_bench(server.url)
    job, other = bench.job(23, lease_seconds=60), bench.job(5)
    leased = bench.claim(job, 5)
    (retrying,) = bench.claim(other, 1)
    assert fail(bench, retrying, RetryPolicy(base_delay=0.5)) is TaskStatus.QUEUED
    queued = {j.id: bench.queued(j) for j in (job, other)}
    assert (len(queued[job.id]), len(queued[other.id])) == (18, 5)

    server.kill()
    server.wipe_store()
    server.start()
    runs = [reconcile_when_reachable(bench, limit=10)]
    while runs[-1].republished:
        runs.append(reconcile_dispatch(bench.db, channel(bench), limit=10))
    assert [r.republished for r in runs] == [10, 10, 3, 0], "bounded runs until all restored"

    for j in (job, other):
        assert bench.held(j) == queued[j.id], "a queued task lost or a leased one offered"
    again = drain(bench, {job.id: 60, other.id: 60})
    if retrying.task_id not in {x.task_id for x in again}:  # still in its backoff
        again += claim_until(bench, {other.id: 60}, 5)
    counted = sorted(x.task_id for x in again)
    assert counted == sorted(queued[job.id] | queued[other.id]), "lost or duplicated tasks"
    assert {x.task_id for x in leased}.isdisjoint(counted)
    assert reconcile_dispatch(bench.db, channel(bench)).republished == 0


def test_tasks_finished_while_the_reconciler_counts_are_not_taken_for_missing(
    server: NatsServer, nats_bench: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = nats_bench(server.url)
    job = bench.job(20)
    queue = channel(bench)
    count_held, list_held = queue.held_count, queue.held_tasks
    compared: list[int] = []

    def held_count_as_workers_finish(job_id: int) -> int:
        # Workers finish five tasks, acknowledged, right as the stream is counted.
        complete(bench, bench.claim(job, 5))
        wait_until(lambda: len(list_held(job.id)) == 15, "the acknowledgements", timeout=5)
        return count_held(job_id)

    def held_tasks(job_id: int) -> set[int]:
        compared.append(job_id)
        return list_held(job_id)

    monkeypatch.setattr(queue, "held_count", held_count_as_workers_finish)
    monkeypatch.setattr(queue, "held_tasks", held_tasks)
    assert reconcile_dispatch(bench.db, queue) == Reconciled()
    assert compared == [], "a job with nothing missing was compared task by task"


def test_a_message_handed_back_at_its_last_delivery_is_published_afresh(
    server: NatsServer, nats_bench: Factory
) -> None:
    bench = nats_bench(server.url, max_deliver=2)
    job = bench.job(1)
    (first,) = bench.claim(job, 1)  # a retry: its message's id was used a moment ago
    assert fail(bench, first, RetryPolicy(base_delay=0.1)) is TaskStatus.QUEUED
    failures = 0
    deadline = time.monotonic() + 15
    with failing_writes(bench.db):  # each pull of the message ends without a lease
        while failures < 3:  # past the most deliveries of one message
            assert time.monotonic() < deadline, "the message was not offered again"
            try:
                bench.claim(job, 1)
            except Unavailable:
                failures += 1
            time.sleep(0.1)
    (lease,) = claim_until(bench, {job.id: 60}, 1)
    assert lease.attempt == 2  # pulls without a lease were no tries: the database counts
    assert reconcile_dispatch(bench.db, channel(bench)) == Reconciled()


def test_a_message_whose_last_claim_died_is_offered_again(
    server: NatsServer, nats_bench: Factory
) -> None:
    bench = nats_bench(server.url, max_deliver=1, ack_wait=0.5)
    job = bench.job(1)
    assert bench.held(job) == bench.queued(job)  # the queue is connected and watching
    assert asyncio.run(pull_and_die(server.url, channel(bench), job.id)) == 1
    assert wait_stuck(bench).stuck == 1
    (lease,) = claim_until(bench, {job.id: 60}, 1)
    assert (lease.task_id, lease.attempt) == (next(iter(bench.tasks(job))), 1)


def test_a_stuck_message_of_a_task_no_longer_queued_is_dropped(
    server: NatsServer, nats_bench: Factory
) -> None:
    bench = nats_bench(server.url, max_deliver=1, ack_wait=0.5)
    job = bench.job(2)
    assert bench.held(job) == bench.queued(job)  # the queue is connected and watching
    assert asyncio.run(pull_and_die(server.url, channel(bench), job.id)) == 2
    stuck_task, other_task = sorted(bench.tasks(job))
    with bench.db.write() as repos:  # meanwhile the task got its result another way
        assert repos.processing.tasks.complete(job.id, [stuck_task], now=utcnow()) == {stuck_task}
    done = wait_stuck(bench)
    while done.stuck < 2:
        done = Reconciled(stuck=done.stuck + wait_stuck(bench).stuck)
    assert bench.held(job) == {other_task}
    (lease,) = claim_until(bench, {job.id: 60}, 1)
    assert lease.task_id == other_task


def test_the_reconciler_cleans_up_after_ended_jobs(server: NatsServer, nats_bench: Factory) -> None:
    bench = nats_bench(server.url)
    ended, running = bench.job(3), bench.job(2)
    bench.claim(ended, 1)
    bench.claim(running, 1)
    with bench.db.write() as repos:  # canceled while NATS could not be told
        now = utcnow()
        repos.processing.jobs.transition(
            ended.id, [JobStatus.RUNNING], JobStatus.CANCELED, "test", finished_at=now
        )
        repos.processing.tasks.cancel_job(ended.id, now=now)
    assert channel(bench).channel_jobs() == {ended.id, running.id}
    assert bench.held(ended) != set()

    reconcile_dispatch(bench.db, channel(bench))
    assert channel(bench).channel_jobs() == {running.id}
    assert bench.held(ended) == set()
    assert bench.held(running) == bench.queued(running)
    # A message published after the end (a publish racing the cancel) is removed as well.
    channel(bench).publish(ended.id, [(next(iter(bench.tasks(ended))), 7)])
    reconcile_dispatch(bench.db, channel(bench))
    assert bench.held(ended) == set()


def test_a_claim_racing_a_jobs_end_answers_empty_and_makes_no_consumer(
    server: NatsServer, nats_bench: Factory
) -> None:
    """Replica B knows the job's consumer; replica A ends the job and removes it. B's next
    claim, and a claim of replica C which never saw the job, answer [] without making the
    consumer again (the database says the job ended)."""
    bench = nats_bench(server.url)
    job = bench.job(3)
    prefix = channel(bench).stream.prefix
    replica_b = JetStreamTaskQueue(bench.db, [server.url], prefix=prefix)
    replica_c = JetStreamTaskQueue(bench.db, [server.url], prefix=prefix)
    try:
        assert len(replica_b.claim({job.id: 60}, 1, "b")) == 1
        with bench.db.write() as repos:
            now = utcnow()
            repos.processing.jobs.transition(
                job.id, [JobStatus.RUNNING], JobStatus.CANCELED, "test", finished_at=now
            )
            repos.processing.tasks.cancel_job(job.id, now=now)
        bench.queue.finished(job.id)
        assert channel(bench).channel_jobs() == set()

        assert replica_b.claim({job.id: 60}, 5, "b") == []
        assert replica_c.claim({job.id: 60}, 5, "c") == []
        assert channel(bench).channel_jobs() == set()
    finally:
        replica_b.close()
        replica_c.close()


def _held_soon(bench: QueueBench, job: Job, expected: set[int]) -> None:
    """The job's messages come to be exactly ``expected`` (claims settle them after answering)."""
    wait_until(
        lambda: bench.held(job) == expected,
        lambda: f"held {bench.held(job)}, expected {expected}",
        timeout=5,
    )


def test_leases_committed_before_a_failed_read_are_still_handed_out(
    server: NatsServer, nats_bench: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim leases the offered tasks in a statement of its own, then reads why the other
    messages were not leased. When that read fails the leases stand, so they are handed out;
    the messages not judged come back later."""
    bench = nats_bench(server.url)
    job = bench.job(2)
    first = bench.claim(job, 1)[0].task_id
    (second,) = set(bench.tasks(job)) - {first}
    channel(bench).publish(job.id, [(first, 7)])  # a stale offer of the leased task

    def unreadable(self: DispatchRepo, task_ids: object) -> dict[int, object]:
        raise Unavailable("the database is unavailable (test)")

    with monkeypatch.context() as patched:
        patched.setattr(DispatchRepo, "states", unreadable)
        assert [lease.task_id for lease in bench.claim(job, 5)] == [second]
    assert bench.tasks(job)[second].status is TaskStatus.LEASED
    _held_soon(bench, job, {first})  # handed back to be judged again

    def terminated() -> bool:  # back after a second: judged stale and terminated
        assert bench.claim(job, 5) == []
        return not bench.held(job)

    wait_until(terminated, "the stale message's end", timeout=5)


def test_a_message_offering_another_jobs_task_is_terminated(
    server: NatsServer, nats_bench: Factory
) -> None:
    """A message on one job's subject that names a task of another job is never wanted, even
    while that task is queued at the message's attempt."""
    bench = nats_bench(server.url)
    mine, other = bench.job(1), bench.job(1)
    (foreign,) = bench.tasks(other)
    channel(bench).publish(mine.id, [(foreign, 0)])
    assert bench.held(mine) == set(bench.tasks(mine)) | {foreign}
    assert [lease.job_id for lease in bench.claim(mine, 5)] == [mine.id]
    _held_soon(bench, mine, set())
    assert bench.tasks(other)[foreign].status is TaskStatus.QUEUED
    assert bench.held(other) == {foreign}


def test_tasks_retried_before_their_consumed_message_is_gone_are_offered(
    server: NatsServer, nats_bench: Factory
) -> None:
    """A retry of failed tasks starts them again at attempt 0, the try whose message a claim
    consumed: JetStream still knows its id, and may still hold the message until it takes the
    acknowledgement in (on a loaded machine, after the retry). The retry is offered anyway."""
    bench = nats_bench(server.url, clock=FakeClock(SystemClock().now()))
    job = bench.job(1, max_attempts=1)
    (task_id,) = bench.tasks(job)
    queue = channel(bench)
    assert queue.held_count(job.id) == 1
    (reply,) = asyncio.run(pull_unsettled(server.url, queue, job.id, 1))  # not settled yet
    now = bench.clock.now()
    with bench.db.statement() as repos:  # the claim's lease of the pulled try
        (lease,) = repos.processing.dispatch.lease(
            job.id, offers={task_id: 0}, holder="slow", lease_id="slow-1",
            expires=now + timedelta(minutes=5), now=now,
        )  # fmt: skip
    assert fail(bench, lease, RetryPolicy(max_attempts=1)) is TaskStatus.FAILED
    with bench.db.write() as repos:
        assert repos.processing.tasks.retry_failed(job.id, now=bench.clock.now()) == 1
    bench.queue.notify_queued(job.id)
    asyncio.run(acknowledge(server.url, reply))  # the claim's acknowledgement comes in now
    (again,) = claim_until(bench, {job.id: 60}, 1)
    assert (again.task_id, again.attempt) == (task_id, 1)


def test_messages_carry_task_and_attempt_under_a_dedup_id(
    server: NatsServer, nats_bench: Factory
) -> None:
    bench = nats_bench(server.url, clock=FakeClock(SystemClock().now()))
    job = bench.job(2, lease_seconds=1)
    queue = channel(bench)
    task_id = min(bench.tasks(job))
    subject = queue.stream.subject(job.id, task_id)

    def message() -> tuple[dict[str, Any], dict[str, str]]:
        found = raw(server.url, lambda js: js.get_last_msg(queue.stream.stream, subject))
        return json.loads(found.data), found.headers

    body, headers = message()
    assert body == {"job": job.id, "task": task_id, "attempt": 0}
    assert headers["Nats-Msg-Id"] == f"task-{task_id}-0"
    assert queue.publish(job.id, [(task_id, 0)]) == 0  # the same try again: nothing new
    assert bench.held(job) == bench.queued(job)

    leases = bench.claim(job, 2)
    bench.clock.advance(1.3)
    assert bench.queue.reap()[0] == 2
    body, headers = message()
    assert (body["attempt"], headers["Nats-Msg-Id"]) == (1, f"task-{task_id}-1")
    info = raw(server.url, lambda js: js.stream_info(queue.stream.stream))
    assert info.config.storage == "file"
    assert info.state.messages == 2
    consumer = raw(server.url, lambda js: js.consumer_info(queue.stream.stream, f"job-{job.id}"))
    assert consumer.config.ack_wait == ACK_WAIT
    assert len(claims_of(leases)) == 2


def test_queue_urls(tmp_path: Path, sqlite_databases: SqliteDatabases) -> None:
    db = Database.from_url(sqlite_databases.new(tmp_path))
    try:
        queue = open_task_queue("nats://10.0.0.1:4222,10.0.0.2:4222?prefix=staging&replicas=3", db)
        assert isinstance(queue, JetStreamTaskQueue)
        assert queue.link.servers == ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
        assert (queue.stream.stream, queue.stream.replicas) == ("STAGING_TASKS", 3)
        assert queue.stream.subject(4, 5) == "staging.tasks.4.5"
        queue.close()
        for bad, says in [
            ("nats://h:4222?replica=3", "unknown NATS URL option 'replica'"),
            ("nats://h:4222?replicas=9", "replicas must be an integer from 1 to 5"),
            ("nats://h:4222?prefix=Bad.Name", "prefix must be"),
            ("nats://", "not a NATS URL"),
        ]:
            with pytest.raises(InvalidInput, match=says):
                open_task_queue(bad, db)
    finally:
        db.dispose()


def test_nats_without_nats_py_says_what_to_install(
    tmp_path: Path, sqlite_databases: SqliteDatabases, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = [n for n in sys.modules if n.startswith(("nats.", "trapline.queue.nats"))]
    for name in loaded:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "nats", None)  # import nats now fails
    db = Database.from_url(sqlite_databases.new(tmp_path))
    try:
        with pytest.raises(MissingDependency, match=r"pip install 'trapline\[nats\]'"):
            open_task_queue("nats://127.0.0.1:4222", db)
    finally:
        db.dispose()


def test_only_the_jetstream_queue_declares_background_duties(
    tmp_path: Path, sqlite_databases: SqliteDatabases
) -> None:
    """The reconciler comes from the queue itself, at the interval the settings give."""
    settings = Settings(data_dir=tmp_path, nats_reconcile_interval=7.5, _env_file=None)
    db = Database.from_url(sqlite_databases.new(tmp_path))
    nats_queue = JetStreamTaskQueue(db, ["nats://127.0.0.1:1"])
    try:
        assert SqlTaskQueue(db).background_duties(settings.queue) == []
        (duty,) = nats_queue.background_duties(settings.queue)
        assert (duty.name, duty.interval) == ("dispatch-reconciler", 7.5)
    finally:
        nats_queue.close()
        db.dispose()


def test_the_platform_reconciles_only_on_nats_and_closes_the_queue(
    tmp_path: Path, sqlite_databases: SqliteDatabases, server: NatsServer
) -> None:
    def settings(queue_url: str, folder: str) -> Settings:
        (tmp_path / folder).mkdir()
        return Settings(
            data_dir=tmp_path / folder,
            database_url=sqlite_databases.new(tmp_path / folder),
            queue_url=queue_url,
            secret_key="k",
            duties_enabled=False,
            _env_file=None,
        )

    sql = Platform.from_settings(settings("sql", "app-sql"))
    assert "dispatch-reconciler" not in {d.name for d in sql.duties.duties}
    sql.close()
    nats = Platform.from_settings(settings(server.url, "app-nats"))
    queue = nats.queue
    assert isinstance(queue, JetStreamTaskQueue)
    with AppClient(create_app(nats)):
        assert "dispatch-reconciler" in nats.duties.run_once()
        assert queue.channel_jobs() == set()
    nats.close()  # as ``trapline serve`` does once the server has stopped
    assert not queue.link._thread.is_alive(), "the NATS thread outlived the app"
    with pytest.raises(Unavailable):
        queue.channel_jobs()


def test_new_tasks_the_stream_missed_are_published_again(
    server: NatsServer, nats_bench: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # New tasks go out as plain publishes, which JetStream may drop when its ingest queue is
    # full; the count check after them must notice and publish what is missing.
    bench = nats_bench(server.url)
    stream = channel(bench).stream
    offer_all = stream.offer_new

    async def offer_half(client: Any, job_id: int, tasks: Any) -> None:
        await offer_all(client, job_id, tasks[: len(tasks) // 2])

    monkeypatch.setattr(stream, "offer_new", offer_half)
    job = bench.job(40)
    assert bench.held(job) == bench.queued(job)
    assert len(drain(bench, {job.id: 60})) == 40


def _spy_fallback(bench: QueueBench, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the batches published through the acknowledged path (the fallback for a
    stream that misses queued tasks)."""
    stream = channel(bench).stream
    calls: list[int] = []

    async def publish(client: Any, job_id: int, tasks: Any, **options: Any) -> int:
        calls.append(len(tasks))
        return await type(stream).publish(stream, client, job_id, tasks, **options)

    monkeypatch.setattr(stream, "publish", publish)
    return calls


def test_a_job_of_many_chunks_is_published_whole_as_it_is_inserted(
    server: NatsServer, nats_bench: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk of new tasks is published while the next is inserted: every task of every
    chunk reaches the stream, once, without the acknowledged fallback."""
    monkeypatch.setattr("trapline.db.repositories.processing.tasks.ENQUEUE_CHUNK", 4)
    bench = nats_bench(server.url)
    fallback = _spy_fallback(bench, monkeypatch)
    job = bench.job(11)
    assert fallback == []
    queued = bench.queued(job)
    assert len(queued) == 11
    assert bench.held(job) == queued
    leases = drain(bench, {job.id: 60})
    assert sorted(lease.task_id for lease in leases) == sorted(queued)


def test_messages_of_an_enqueue_that_rolled_back_are_never_handed_out(
    server: NatsServer, nats_bench: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tasks are published before their insert commits; when it rolls back, the messages
    offer tasks that do not exist, and the job started again hands out only its own."""
    monkeypatch.setattr("trapline.db.repositories.processing.tasks.ENQUEUE_CHUNK", 3)
    bench = nats_bench(server.url)
    images = bench.images(7)
    with bench.db.write() as repos:
        job = repos.processing.jobs.create(
            project_id=bench.project_id,
            pipeline_id=bench.pipeline_id,
            name="rolled back once",
            dispatch_mode=DispatchMode.ASYNC_API,
            params=JobParams(),
            selection={"image_ids": images},
            start_now=True,
            created_by=None,
        )
    recount = TaskRepo.recount_open

    def crash(self: TaskRepo, job_id: int) -> int:
        raise RuntimeError("the server died before the commit")

    monkeypatch.setattr(TaskRepo, "recount_open", crash)
    with pytest.raises(RuntimeError):
        bench.queue.enqueue(job, ImageFilter(), image_ids=images)
    assert bench.tasks(job) == {}
    # The crash cut the enqueue short of waiting for its last plain publish to be flushed.
    wait_until(
        lambda: len(raw(server.url, lambda js: _held_subjects(js, channel(bench), job.id))) == 7,
        "the messages published before the crash",
        timeout=5,
    )

    monkeypatch.setattr(TaskRepo, "recount_open", recount)
    start_job(bench.db, bench.queue, job.id)
    queued = bench.queued(job)
    assert len(queued) == 7
    leases = drain(bench, {job.id: 60})
    assert sorted(lease.task_id for lease in leases) == sorted(queued)
    assert {lease.image_id for lease in leases} == set(images)


async def _held_subjects(js: Any, queue: JetStreamTaskQueue, job_id: int) -> dict[str, int]:
    subjects = queue.stream.subject(job_id, "*")
    info = await js.stream_info(queue.stream.stream, subjects_filter=subjects)
    return info.state.subjects or {}
