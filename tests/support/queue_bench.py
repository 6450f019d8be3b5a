"""A task queue over a database holding one project, its images and a registered pipeline, and
what the queue tests do with it: claim, complete, fail, break the database's writes, and pull
JetStream's messages as a dying claim."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.support.protocol import pipeline_config
from tests.support.waiting import wait_until
from trapline.clock import Clock, FakeClock
from trapline.db.engine import Database
from trapline.domain.core.retry import RetryPolicy
from trapline.domain.processing.jobs import (
    DispatchMode,
    Job,
    JobParams,
    JobStatus,
    Lease,
    TaskInfo,
    TaskStatus,
)
from trapline.domain.processing.lease_tokens import LeaseClaim
from trapline.errors import Unavailable
from trapline.protocol.pipelines import PipelineConfig
from trapline.queue.base import TaskQueue
from trapline.queue.channel import DispatchChannel
from trapline.queue.reconciler import Reconciled, reconcile_dispatch
from trapline.queue.sql import SqlTaskQueue
from trapline.services.processing.jobs import start_job

if TYPE_CHECKING:  # the JetStream queue loads nats-py: only the NATS tests import it
    from trapline.queue.nats import JetStreamTaskQueue

#: Seconds a test waits for something that should happen at once (a message settling).
SETTLE = 5.0
#: Seconds any wait for a redelivery may take.
WAIT = 15.0


_images = itertools.count(1)


@dataclass
class QueueBench:
    """A queue over a database holding one project, its images and a registered pipeline."""

    backend: str
    db: Database
    queue: TaskQueue
    project_id: int
    pipeline_id: int

    @property
    def clock(self) -> FakeClock:
        """The fake clock the queue times its leases and backoffs by; tests move it."""
        assert isinstance(self.queue.clock, FakeClock)
        return self.queue.clock

    def job(self, tasks: int, *, max_attempts: int = 3, lease_seconds: int = 60) -> Job:
        """A running job with ``tasks`` queued tasks, started the way the platform does."""
        ids = self.images(tasks)
        with self.db.write() as repos:
            job = repos.processing.jobs.create(
                project_id=self.project_id,
                pipeline_id=self.pipeline_id,
                name=f"job of {tasks}",
                dispatch_mode=DispatchMode.ASYNC_API,
                params=JobParams(max_attempts=max_attempts, lease_seconds=lease_seconds),
                selection={"image_ids": ids},
                start_now=True,
                created_by=None,
            )
        start_job(self.db, self.queue, job.id)
        with self.db.read() as repos:
            running = repos.processing.jobs.get(job.id)
        assert running is not None
        assert running.status is JobStatus.RUNNING, running
        return running

    def images(self, count: int) -> list[int]:
        """Ids of ``count`` new image rows (workers never fetch them here)."""
        ids = []
        with self.db.write() as repos:
            for _ in range(count):
                n = next(_images)
                image = repos.photos.images.insert(
                    project_id=self.project_id,
                    storage_key=f"images/queue/{n:08d}.jpg",
                    filename=f"{n:08d}.jpg",
                    sha256=f"{n:064x}",
                    size_bytes=1000,
                    width=64,
                    height=48,
                    content_type="image/jpeg",
                    source="import",
                )
                assert image is not None
                ids.append(image.id)
        return ids

    def claim(self, job: Job, batch: int, holder: str = "worker") -> list[Lease]:
        return self.queue.claim({job.id: job.params.lease_seconds}, batch, holder)

    def tasks(self, job: Job) -> dict[int, TaskInfo]:
        with self.db.read() as repos:
            _, infos, _ = repos.processing.tasks.page(job.id, None, limit=10_000)
        return {info.id: info for info in infos}

    def queued(self, job: Job) -> set[int]:
        return {i.id for i in self.tasks(job).values() if i.status is TaskStatus.QUEUED}

    def held(self, job: Job) -> set[int] | None:
        """Tasks the queue's dispatch channel holds a message for; None without a channel."""
        if not isinstance(self.queue, DispatchChannel):
            return None
        return self.queue.held_tasks(job.id)

    def assert_channel_follows_database(self, job: Job) -> None:
        """A channel holds exactly one message per queued task, once messages settled."""
        if not isinstance(self.queue, DispatchChannel):
            return
        deadline = time.monotonic() + SETTLE
        while True:
            held, queued = self.held(job), self.queued(job)
            if held == queued or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert held == queued, f"channel holds {sorted(held or [])}, queued {sorted(queued)}"


def claims_of(leases: list[Lease]) -> list[LeaseClaim]:
    return [LeaseClaim(x.job_id, x.task_id, x.attempt, x.lease_id) for x in leases]


def open_queue(
    backend: str, db: Database, nats_url: Callable[[], str], clock: Clock | None = None
) -> TaskQueue:
    if backend.startswith("sql"):
        return SqlTaskQueue(db, clock)
    from trapline.queue.nats import JetStreamTaskQueue

    return JetStreamTaskQueue(db, [nats_url()], prefix=f"t{uuid.uuid4().hex[:12]}", clock=clock)


def make_bench(backend: str, db: Database, queue: TaskQueue) -> QueueBench:
    config = PipelineConfig.model_validate(pipeline_config("queue-test"))
    with db.write() as repos:
        owner = repos.core.users.create(f"owner-{uuid.uuid4().hex[:8]}@example.org", "Owner")
        project = repos.core.projects.create("Queue", "", owner.id)
        repos.pipelines.pipelines.register(project.id, "queue tests", [config], owner.created_at)
        pipeline = repos.pipelines.pipelines.resolve(project.id, "queue-test")
    assert pipeline is not None
    return QueueBench(backend, db, queue, project.id, pipeline.id)


def claim_until(bench: QueueBench, jobs: dict[int, int], batch: int) -> list[Lease]:
    """Claim until something is handed out (a retry's backoff, a message coming back)."""
    return wait_until(
        lambda: bench.queue.claim(jobs, batch, "patient worker"),
        "a claim handing something out",
        timeout=WAIT,
    )


def fail(bench: QueueBench, lease: Lease, policy: RetryPolicy, *, retry: bool = True) -> TaskStatus:
    """Record an error result for a lease, as the results service does."""
    (claim,) = claims_of([lease])
    with bench.db.write() as repos:
        status = repos.processing.tasks.fail(
            claim, "boom", policy, now=bench.queue.clock.now(), retry=retry
        )
    assert status is not None
    if status is TaskStatus.QUEUED:
        bench.queue.notify_queued(lease.job_id)
    return status


def complete(bench: QueueBench, leases: list[Lease]) -> None:
    """Store results for these leases, as the results service does."""
    job_id = leases[0].job_id
    with bench.db.write() as repos:
        done = repos.processing.tasks.complete(
            job_id, [x.task_id for x in leases], now=bench.queue.clock.now()
        )
    assert done == {x.task_id for x in leases}


@contextmanager
def failing_writes(db: Database) -> Iterator[None]:
    """Every write raises Unavailable, as when the database is cut off."""
    originals = db.write, db.statement

    @contextmanager
    def broken() -> Iterator[None]:
        raise Unavailable("the database is unavailable (test)")
        yield

    db.write = db.statement = broken  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        db.write, db.statement = originals  # type: ignore[method-assign]


Factory = Callable[..., QueueBench]


def channel(bench: QueueBench) -> JetStreamTaskQueue:
    """The bench's queue, a JetStream one."""
    from trapline.queue.nats import JetStreamTaskQueue

    assert isinstance(bench.queue, JetStreamTaskQueue)
    return bench.queue


def wait_stuck(bench: QueueBench) -> Reconciled:
    """Reconcile until a max-deliveries advisory has been dealt with."""

    def stuck() -> Reconciled | None:
        done = reconcile_dispatch(bench.db, channel(bench))
        return done if done.stuck else None

    return wait_until(stuck, "a max-deliveries advisory", timeout=15)


async def pull_and_die(url: str, queue: JetStreamTaskQueue, job_id: int) -> int:
    """Pull the job's messages as a claim that dies before settling them; how many."""
    return len(await pull_unsettled(url, queue, job_id, 10))


async def pull_unsettled(url: str, queue: JetStreamTaskQueue, job_id: int, batch: int) -> list[str]:
    """Pull up to ``batch`` of the job's messages on a connection of the caller's own and
    settle none; their reply subjects (``acknowledge`` settles one later)."""
    import nats

    client = await nats.connect(url)
    try:
        subscription = await client.jetstream().pull_subscribe_bind(
            f"job-{job_id}", stream=queue.stream.stream
        )
        messages = await subscription.fetch(batch, timeout=10)  # room for a loaded machine
        return [str(message.reply) for message in messages]
    finally:
        await client.close()


async def acknowledge(url: str, reply: str) -> None:
    """Acknowledge a message pulled by ``pull_unsettled``, waiting for the server to confirm."""
    import nats

    client = await nats.connect(url)
    try:
        await client.request(reply, b"+ACK", timeout=10)
    finally:
        await client.close()
