"""What the fault scenarios share: the queue backends, platforms on PostgreSQL, real workers.

Every scenario runs once per queue backend: the SQL queue, and JetStream on a NATS server the
test starts itself (``tests/support/nats.py``). Workers are real ``trapline worker`` processes
(``Worker``) or the scripted loop of ``tests/support/workers.py`` where a scenario needs exact
control over what is sent when.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, text

from tests.support.databases import PostgresDatabases, in_ci
from tests.support.image_server import ImageServer, image_server
from tests.support.protocol import pipeline_config, registration
from tests.support.waiting import wait_until
from tests.support.worker_process import Worker
from tests.support.workers import Platform, live_platform, project_with_images
from trapline.pipelines.simple import ConstantPipeline

try:  # the NATS fixture arrived with the JetStream queue; without it NATS runs are skipped
    from tests.support.nats import NatsServer
except ImportError:  # pragma: no cover - depends on the checkout
    NatsServer = None  # type: ignore[assignment,misc]

#: The built-in pipeline the workers run: one detection per image, no model.
PIPELINE = "trapline-constant"

QUEUES = [
    pytest.param("sql", id="sql"),
    pytest.param("nats", id="nats", marks=pytest.mark.nats),
]


@contextmanager
def queue_for(kind: str, folder: Path) -> Iterator[tuple[str, NatsServer | None]]:
    """The ``TRAPLINE_QUEUE_URL`` of queue backend ``kind``, with its NATS server if any."""
    if kind == "sql":
        yield "sql", None
        return
    if NatsServer is None:
        reason = "tests/support/nats.py (the NATS fixture) is not importable"
        if in_ci():
            pytest.fail(f"{reason} (CI=true, so this fails instead of skipping)")
        pytest.skip(reason)
    folder.mkdir(parents=True, exist_ok=True)
    server = NatsServer(folder)
    server.start()
    try:
        yield server.url, server
    finally:
        server.kill()


@dataclass
class Site:
    """A platform on PostgreSQL behind an image server, and an API client on it."""

    platform: Platform
    images: ImageServer
    api: httpx.Client
    folder: Path

    @property
    def database_url(self) -> str:
        return self.platform.env["TRAPLINE_DATABASE_URL"]

    @property
    def data_dir(self) -> Path:
        return Path(self.platform.env["TRAPLINE_DATA_DIR"])


@contextmanager
def site(
    folder: Path,
    postgres_databases: PostgresDatabases,
    queue_url: str,
    *,
    delay: float = 0.0,
    port: int | None = None,
    **settings: str,
) -> Iterator[Site]:
    """``trapline serve`` on a fresh PostgreSQL database with the given queue.

    Image URLs handed to workers go through an image server that waits ``delay`` seconds per
    image, so a job lasts long enough to break something in the middle of it.
    """
    with ExitStack() as stack:
        images = stack.enter_context(image_server(delay=delay))
        platform = stack.enter_context(
            live_platform(
                "postgres",
                folder,
                postgres_databases,
                port=port,
                QUEUE_URL=queue_url,
                PUBLIC_URL=images.url,
                **settings,
            )
        )
        images.upstream = platform.url
        api = stack.enter_context(platform.client())
        yield Site(platform, images, api, folder)


@dataclass(frozen=True)
class Project:
    """A project with images, the constant pipeline registered and a service token for it."""

    id: int
    images: dict[int, str]
    token: str

    @property
    def image_ids(self) -> list[int]:
        return sorted(self.images)


def new_project(api: httpx.Client, count: int, name: str, *, seed: int = 0) -> Project:
    """A project of ``count`` generated images, ready for ``trapline worker``.

    The service token sees this project only, so workers of one scenario never take tasks of
    another scenario sharing the platform.
    """
    project_id, images = project_with_images(api, count, name=name, seed=seed)
    made = api.post(
        f"/api/v2/projects/{project_id}/service-tokens/", json={"name": f"{name} workers"}
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    # The built-in constant pipeline, plus the algorithms the scripted worker loops report
    # (tests/support/workers.py), so both kinds of worker can serve the same job: registered
    # with the workers' own token, which is then given that version's tasks (a real worker's
    # offering of the bare built-in is refused, as it conflicts, and changes nothing).
    config = ConstantPipeline().config.model_dump(mode="json")
    config["algorithms"] += pipeline_config(PIPELINE)["algorithms"]
    done = api.post(
        f"/api/v2/projects/{project_id}/pipelines/",
        json=registration(config, name=f"{name} workers"),
        headers={"Authorization": f"Token {token}"},
    )
    assert done.status_code == 201, done.text
    return Project(project_id, images, token)


def new_job(
    api: httpx.Client, project_id: int, *, image_ids: list[int] | None = None, **params: Any
) -> int:
    """Start a job of the constant pipeline over the project (or these images); returns its id."""
    body = {"project_id": project_id, "pipeline": PIPELINE, "params": params}
    if image_ids is not None:
        body["image_ids"] = image_ids
    made = api.post("/api/v2/jobs/", json=body)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def job_of(api: httpx.Client, job_id: int) -> dict[str, Any]:
    answer = api.get(f"/api/v2/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def running_job(api: httpx.Client, job_id: int) -> None:
    """Wait for a new job to be open to workers."""
    wait_until(
        lambda: job_of(api, job_id)["status"] == "running",
        lambda: f"job {job_id} never ran: {job_of(api, job_id)}",
    )


@contextmanager
def workers(*made: Worker) -> Iterator[tuple[Worker, ...]]:
    """Kill whatever is still running of these workers when the block ends."""
    try:
        yield made
    finally:
        for worker in made:
            worker.kill()


class RssSampler:
    """Samples of a process's resident memory, its children's included."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.samples: list[int] = []

    def sample(self) -> int:
        rss = self.process.memory_info().rss
        rss += sum(c.memory_info().rss for c in self.process.children(recursive=True))
        self.samples.append(rss)
        return rss

    @property
    def peak_mib(self) -> float:
        return max(self.samples) / 2**20

    @property
    def first_mib(self) -> float:
        return self.samples[0] / 2**20


def report(name: str, **figures: Any) -> None:
    """Print a scenario's figures (``pytest -s`` or ``-rP`` shows them; docs/reliability.md
    records them)."""
    shown = ", ".join(
        f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
    )
    print(f"\n[fault figures] {name}: {shown}", flush=True)


def select(url: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of a read-only query on the database at ``url``."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), params)]
    finally:
        engine.dispose()


def leased_by(url: str, job_id: int, worker: str) -> set[int]:
    """Tasks of the job leased right now to the worker named ``worker``."""
    rows = select(
        url,
        "SELECT id FROM tasks WHERE job_id = :job AND status = 'leased' AND lease_holder LIKE :who",
        job=job_id,
        who=f"{worker}:%",
    )
    return {row[0] for row in rows}


def answered_by(url: str, task_ids: set[int], worker: str) -> set[int]:
    """Those of the tasks whose stored result the worker named ``worker`` posted."""
    rows = select(
        url,
        "SELECT task_id FROM analyses WHERE task_id = ANY(:ids) AND worker LIKE :who",
        ids=list(task_ids),
        who=f"{worker}%",
    )
    return {row[0] for row in rows}


def attempts(url: str, task_ids: set[int]) -> dict[int, int]:
    """Deliveries of each task so far."""
    rows = select(url, "SELECT id, attempt FROM tasks WHERE id = ANY(:ids)", ids=list(task_ids))
    return dict(rows)  # type: ignore[arg-type]
