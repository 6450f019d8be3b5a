"""Fixtures of the queue tests: each backend over a fresh database, and running jobs to claim.

``queue_bench`` runs a test once per backend: the SQL queue on SQLite and on PostgreSQL, and the
JetStream queue (on SQLite, the record of truth) against a NATS server the session starts.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.databases import PostgresDatabases, SqliteDatabases, require_postgres
from tests.support.nats import NatsServer, nats_server
from tests.support.protocol import pipeline_config
from trapline.clock import Clock, FakeClock, SystemClock
from trapline.db.engine import Database
from trapline.domain.jobs import (
    DispatchMode,
    Job,
    JobParams,
    JobStatus,
    Lease,
    TaskInfo,
    TaskStatus,
)
from trapline.domain.lease_tokens import LeaseClaim
from trapline.protocol.pipelines import PipelineConfig
from trapline.queue.base import TaskQueue
from trapline.queue.channel import DispatchChannel
from trapline.queue.sql import SqlTaskQueue
from trapline.services.jobs import start_job

QUEUE_BACKENDS = [
    pytest.param("sql-sqlite", id="sql-sqlite"),
    pytest.param("sql-postgres", id="sql-postgres", marks=pytest.mark.postgres),
    pytest.param("nats", id="nats", marks=pytest.mark.nats),
    # The NATS queue's lease and judging SQL differs on PostgreSQL (unnest, not VALUES).
    pytest.param(
        "nats-postgres", id="nats-postgres", marks=[pytest.mark.nats, pytest.mark.postgres]
    ),
]
#: Seconds a test waits for something that should happen at once (a message settling).
SETTLE = 5.0

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
            job = repos.jobs.create(
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
            running = repos.jobs.get(job.id)
        assert running is not None
        assert running.status is JobStatus.RUNNING, running
        return running

    def images(self, count: int) -> list[int]:
        """Ids of ``count`` new image rows (workers never fetch them here)."""
        ids = []
        with self.db.write() as repos:
            for _ in range(count):
                n = next(_images)
                image = repos.images.insert(
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
            _, infos = repos.tasks.page(job.id, None, limit=10_000, offset=0)
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


@pytest.fixture(scope="session")
def shared_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """One NATS server for the session's contract tests; each test uses its own streams."""
    with nats_server(tmp_path_factory.mktemp("nats")) as server:
        yield server


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
        owner = repos.users.create(f"owner-{uuid.uuid4().hex[:8]}@example.org", "Owner")
        project = repos.projects.create("Queue", "", owner.id)
        repos.pipelines.register(project.id, "queue tests", [config], owner.created_at)
        pipeline = repos.pipelines.resolve(project.id, "queue-test")
    assert pipeline is not None
    return QueueBench(backend, db, queue, project.id, pipeline.id)


@pytest.fixture(params=QUEUE_BACKENDS)
def queue_bench(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_databases: SqliteDatabases,
    postgres_databases: PostgresDatabases,
) -> Iterator[QueueBench]:
    """The same queue behaviour, once per backend."""
    backend: str = request.param
    if backend.endswith("postgres"):
        require_postgres()
        url = postgres_databases.new()
    else:
        url = sqlite_databases.new(tmp_path)
    db = Database.from_url(url)
    clock = FakeClock(SystemClock().now())
    queue = open_queue(backend, db, lambda: request.getfixturevalue("shared_nats").url, clock)
    try:
        yield make_bench(backend, db, queue)
    finally:
        queue.close()
        db.dispose()
        if backend.endswith("postgres"):
            postgres_databases.drop(url)
