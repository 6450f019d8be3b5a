"""Loading the benchmark data set (``dataset.py``) step by step through the product's own
repositories and services, each step in batches the way the product batches it.

What can run beside the product's writes does: another process makes the next batch of
results while the product stores the last one. On PostgreSQL, events are tracked and
occurrences identified in ``PROCESSES`` processes, each a share of them; on SQLite, where
writers take turns (and a writer of another process polls for the lock with sleeps), in this
process one after another: two processes took longer there, in wall and CPU time alike
(``docs/benchmarks.md``). Each step's wall time and CPU time (this process and the ones it
started) are kept.
"""

from __future__ import annotations

import resource
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from functools import partial
from multiprocessing import get_context
from typing import Any

from dataset_scene import (
    BINARY,
    DEPLOYMENTS,
    PHOTOS_PER_NIGHT,
    SPECIES,
    Variant,
    analysis,
    image_rows,
    scene_key,
    species_labels,
    taxa_entries,
)
from sqlalchemy import text

from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.ecology.reviews import Verdict
from trapline.domain.processing.jobs import JobParams, TaskStatus
from trapline.domain.processing.results import AnalysisDraft
from trapline.errors import InvalidInput
from trapline.platform import Platform
from trapline.protocol.pipelines import (
    AlgorithmConfig,
    CategoryMap,
    PipelineConfig,
    PipelineRegistration,
)
from trapline.services.core import accounts
from trapline.services.ecology.occurrences import track_event
from trapline.services.pipelines.pipelines import register_pipelines
from trapline.services.processing.jobs import create_job, finish_if_done, start_job
from trapline.services.review.identifications import identify_occurrence
from trapline.services.taxa.taxa_import import store_entries
from trapline.settings import Settings

#: Images inserted, and tasks answered, per transaction.
IMAGE_BATCH = 20_000
RESULT_BATCH = 2_000
#: One box in REVIEW_EVERY is reviewed; one occurrence in IDENTIFY_EVERY identified.
REVIEW_EVERY = 200
IDENTIFY_EVERY = 100
#: Batches of results made ahead of the one being stored.
BATCHES_AHEAD = 2
#: Processes tracking events (and identifying occurrences) at once on PostgreSQL, each a
#: share of them.
PROCESSES = 2

#: The pipelines, each version as it is registered: (slug, version, detector version,
#: species classifier version, default threshold, variant's box jitter and error rate).
PIPELINES = (
    ("ami-moths", 1, 1, 1, 0.4, 6.0, 0.25),
    ("ami-global", 1, 1, 1, None, 10.0, 0.4),
    ("ami-moths", 2, 2, 2, 0.4, 3.0, 0.15),
)


def _pipeline(
    slug: str, version: int, detector: int, species: int, threshold: float | None
) -> PipelineConfig:
    labels = species_labels()
    return PipelineConfig(
        name=f"AMI {slug.split('-')[1]} v{version}",
        slug=slug,
        version=version,
        default_threshold=threshold,
        algorithms=[
            AlgorithmConfig(name="Moth detector", key=f"{slug}-detector", task_type="detection",
                            version=detector),
            AlgorithmConfig(name="Moth / non-moth", key=f"{slug}-binary",
                            task_type="classification", category_map=CategoryMap.of_labels(BINARY)),
            AlgorithmConfig(
                name="Species classifier", key=f"{slug}-species", task_type="classification",
                version=species,
                category_map=CategoryMap.of_labels(labels, [{"taxon_rank": "SPECIES"}] * SPECIES),
            ),
        ],
    )  # fmt: skip


class Loader:
    """Loads one project; ``counts`` and ``seconds`` say what it holds and what each step took."""

    def __init__(
        self, platform: Platform, seed: int, *, owner: str, identifier: str, password: str
    ) -> None:
        self.platform, self.db, self.seed = platform, platform.db, seed
        self.emails, self.password = (owner, identifier), password
        self.project_id = 0
        self.deployment_ids: list[int] = []
        self.keys: dict[int, tuple[int, int, int]] = {}
        self.counts: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}

    def load(self, images: int) -> None:
        self._step("project", self._project)
        self._step("images", lambda: self._images(images))
        self._step("events", self._events)
        self._step("taxa", self._taxa)
        for slug, version, *rest in PIPELINES:
            self._step(f"{slug} v{version}", partial(self._run, slug, version, *rest))
        self._step("reviews", self._reviews)
        self._step("tracking", self._track)
        self._step("identifications", self._identify)
        self._step("statistics", self._statistics)
        self._count()

    def _step(self, name: str, step: Callable[[], object]) -> None:
        started, cpu = time.perf_counter(), _cpu_seconds()
        step()
        self.seconds[name] = time.perf_counter() - started
        self.cpu_seconds[name] = _cpu_seconds() - cpu
        print(
            f"  {name}: {self.seconds[name]:.1f} s (CPU {self.cpu_seconds[name]:.1f} s)",
            file=sys.stderr,
            flush=True,
        )

    def _people(self) -> tuple[User, User]:
        with self.db.read() as repos:
            found = [repos.users.by_email(email) for email in self.emails]
        owner, other = found
        assert owner is not None
        assert other is not None
        return owner, other

    def _project(self) -> None:
        with self.db.write() as repos:
            owner = repos.users.create(self.emails[0], "Bench Owner", is_admin=True)
            other = repos.users.create(self.emails[1], "Ida Identifier")
            project = repos.projects.create("Moth traps", "Light-trap benchmark project", owner.id)
            repos.projects.set_role(project.id, other.id, Role.MEMBER)
            repos.events.set_project_rule(project.id, Grouping(EventRule.NIGHT))
            self.deployment_ids = [
                repos.deployments.create(
                    project.id, name=f"Trap {n:02d}", time_zone="UTC",
                    latitude=51.5 + n / 100, longitude=-0.1 - n / 100,
                ).id
                for n in range(DEPLOYMENTS)
            ]  # fmt: skip
            self.project_id = project.id
        for user in (owner, other):
            accounts.set_password(self.db, None, user.id, self.password)

    def _images(self, images: int) -> None:
        nights = max(1, images // (DEPLOYMENTS * PHOTOS_PER_NIGHT))
        pending: list[dict[str, Any]] = []
        owner, _ = self._people()
        for n, deployment_id in enumerate(self.deployment_ids):
            for first in range(0, nights, IMAGE_BATCH // PHOTOS_PER_NIGHT):
                span = range(first, min(nights, first + IMAGE_BATCH // PHOTOS_PER_NIGHT))
                pending = image_rows(self.seed, n, deployment_id, span)
                for row in pending:
                    row["uploaded_by"] = owner.id
                with self.db.write() as repos:
                    repos.images.bulk_insert(self.project_id, pending)
        with self.db.read() as repos:
            rows = repos.session.execute(
                text("SELECT id, filename FROM images WHERE project_id = :p"),
                {"p": self.project_id},
            )
            self.keys = {int(i): scene_key(name) for i, name in rows}
        self.db.refresh_statistics("images")

    def _events(self) -> None:
        for deployment_id in self.deployment_ids:
            with self.db.write() as repos:
                repos.events.regroup(deployment_id)
        self.db.refresh_statistics("image_events")

    def _taxa(self) -> None:
        with self.db.write() as repos:
            taxa_list = repos.taxa.create_list("European moths", self.project_id)
            repos.taxa.use_list(self.project_id, taxa_list.id)
            store_entries(repos, taxa_list.id, taxa_entries())

    def _run(self, slug: str, version: int, detector: int, species: int,
             threshold: float | None, jitter: float, wrong: float) -> None:  # fmt: skip
        """Register a pipeline version and run it as jobs: over every photo, or (a second
        version) over half the deployments, one job each. Another process makes the results
        (ending with the step, so that its CPU time is the step's)."""
        owner, _ = self._people()
        config = _pipeline(slug, version, detector, species, threshold)
        registration = PipelineRegistration(
            processing_service_name="AMI worker", pipelines=[config]
        )
        register_pipelines(self.db, owner, self.project_id, registration)
        with self.db.read() as repos:
            pipeline = repos.pipelines.resolve(self.project_id, slug)
        assert pipeline is not None
        assert pipeline.version == version
        ids = [pipeline.algorithm(f"{slug}-{k}") for k in ("detector", "binary", "species")]
        variant = Variant(*(a.id for a in ids if a), jitter, wrong, hash((slug, version)) % 997)
        selections: list[dict[str, Any]] = [{}]
        if version > 1:
            selections = [{"deployment_id": d} for d in self.deployment_ids[: DEPLOYMENTS // 2]]
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as maker:
            for selection in selections:
                job = create_job(
                    self.db, owner, project_id=self.project_id, pipeline_slug=slug,
                    selection=selection, name=None, start_now=True, params=JobParams(),
                )  # fmt: skip
                start_job(self.db, self.platform.queue, job.id)
                self._answer(maker, job.id, pipeline.id, variant)
        self.db.refresh_statistics("annotations")

    def _answer(
        self, maker: ProcessPoolExecutor, job_id: int, pipeline_id: int, variant: Variant
    ) -> None:
        """Every task of the job answered with its result, a batch per transaction, as the
        result path stores a worker's posts (tasks completed, analyses stored, job finished).
        ``maker`` makes each batch's results while the one before is stored."""
        batches = [
            [(t.id, t.image_id, self.keys[t.image_id]) for t in tasks]
            for tasks in self._queued(job_id)
        ]
        for drafts in _made_ahead(maker, self.seed, variant, batches):
            now = datetime.now(UTC)
            with self.db.write() as repos:
                done = repos.tasks.complete(job_id, [d.task_id for d in drafts], now=now)
                repos.analyses.store(
                    [d for d in drafts if d.task_id in done], project_id=self.project_id,
                    job_id=job_id, pipeline_id=pipeline_id, source="job", now=now,
                )  # fmt: skip
                finished = finish_if_done(repos, job_id, settled=len(done))
            if finished:
                self.platform.queue.finished(job_id)

    def _queued(self, job_id: int) -> Iterator[Sequence[Any]]:
        """The job's queued tasks, a batch at a time, read before any is answered."""
        with self.db.read() as repos:
            offset = 0
            while tasks := repos.tasks.page(
                job_id, TaskStatus.QUEUED, limit=RESULT_BATCH, offset=offset
            )[1]:
                yield tasks
                offset += RESULT_BATCH

    def _reviews(self) -> None:
        owner, _ = self._people()
        labels = species_labels()
        with self.db.read() as repos:
            boxes = repos.session.execute(
                text(
                    "SELECT id, image_id FROM annotations WHERE project_id = :p"
                    " AND type = 'bounding_box' AND id % :every = 0 ORDER BY id"
                ),
                {"p": self.project_id, "every": REVIEW_EVERY},
            ).all()
        verdicts = [Verdict.CONFIRM] * 7 + [Verdict.RELABEL] * 2 + [Verdict.FALSE_DETECTION]
        for start in range(0, len(boxes), 500):
            with self.db.write() as repos:
                for n, (box_id, image_id) in enumerate(boxes[start : start + 500], start):
                    verdict = verdicts[n % len(verdicts)]
                    repos.reviews.add(
                        project_id=self.project_id, image_id=image_id, annotation_id=box_id,
                        verdict=verdict, box=None, created_by=owner.id,
                        label=labels[n % 40] if verdict is Verdict.RELABEL else None,
                    )  # fmt: skip

    def _track(self) -> None:
        """Every event tracked by the tracking duty's own function, shared out by event."""
        with self.db.read() as repos:
            due = repos.tracking.due(len(self.keys), datetime.now(UTC))
        _shared_out(_track_events, self.platform.settings, due, self._processes())
        self.db.refresh_statistics("occurrences")
        self.db.refresh_statistics("occurrence_detections")

    def _identify(self) -> None:
        with self.db.read() as repos:
            chosen = [int(i) for i in repos.session.scalars(text(
                "SELECT id FROM occurrences WHERE project_id = :p AND id % :every = 0 ORDER BY id"
            ), {"p": self.project_id, "every": IDENTIFY_EVERY})]  # fmt: skip
            species = [int(i) for i in repos.session.scalars(text(
                "SELECT id FROM taxa WHERE rank = 'species' ORDER BY id LIMIT 200"
            ))]  # fmt: skip
        work = [(n, o, species[n % len(species)], species[(n + 1) % len(species)], self.emails)
                for n, o in enumerate(chosen)]  # fmt: skip
        _shared_out(_identify_occurrences, self.platform.settings, work, self._processes())

    def _processes(self) -> int:
        """Processes sharing out the tracking and identifying (one on SQLite)."""
        return 1 if self.db.is_sqlite else PROCESSES

    def _statistics(self) -> None:
        if not self.db.is_sqlite:
            # What autovacuum does within a minute or so of a load, done now so the plans
            # measured are a settled server's.
            with self.db.engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("VACUUM ANALYZE")
                )

    def _count(self) -> None:
        tables = ("images", "events", "jobs", "analyses", "annotations", "reviews",
                  "occurrences", "identifications", "taxa")  # fmt: skip
        with self.db.read() as repos:
            for table in tables:
                found = repos.session.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
                self.counts[table] = int(found or 0)


def _cpu_seconds() -> float:
    """CPU time of this process and of the processes it started that have ended."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))  # fmt: skip
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _made_ahead(maker: ProcessPoolExecutor, seed: int, variant: Variant,
                batches: Sequence[Sequence[Any]]) -> Iterator[list[AnalysisDraft]]:  # fmt: skip
    """The results of each batch in turn, ``maker`` making the next ones meanwhile (at most
    ``BATCHES_AHEAD``, so that memory stays a few batches' worth)."""
    ahead: deque[Future[list[AnalysisDraft]]] = deque()
    for batch in batches:
        ahead.append(maker.submit(_drafts, seed, variant, batch))
        if len(ahead) > BATCHES_AHEAD:
            yield ahead.popleft().result()
    while ahead:
        yield ahead.popleft().result()


def _drafts(seed: int, variant: Variant, tasks: Sequence[tuple[int, int, tuple[int, int, int]]]
            ) -> list[AnalysisDraft]:  # fmt: skip
    """The results of a batch of tasks (id, photo, the photo's scene key)."""
    return [analysis(seed, variant, task_id, image_id, key) for task_id, image_id, key in tasks]


def _shared_out(work: Callable[[Settings, Sequence[Any]], None], settings: Settings,
                items: Sequence[Any], processes: int) -> None:  # fmt: skip
    """``work`` over ``items``, shared out among ``processes`` processes (each its own
    platform); with one, in this process."""
    if processes == 1:
        work(settings, items)
        return
    shares = [items[k::processes] for k in range(processes)]
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        list(pool.map(work, [settings] * processes, shares))


def _track_events(settings: Settings, events: Sequence[tuple[int, int]]) -> None:
    platform = Platform.from_settings(settings)
    try:
        for event_id, version in events:
            track_event(platform.db, platform.store, event_id, version)
    finally:
        platform.close()


def _identify_occurrences(settings: Settings, work: Sequence[tuple[Any, ...]]) -> None:
    """Identifications: three in five agree with the model (when its label names a taxon),
    the others name a taxon; one in five of those is disputed by a second person."""
    if not work:
        return
    platform = Platform.from_settings(settings)
    db = platform.db
    try:
        with db.read() as repos:
            people = [repos.users.by_email(email) for email in work[0][4]]
        owner, other = people
        assert owner is not None
        assert other is not None
        for n, occurrence_id, taxon, other_taxon, _ in work:
            if n % 5 < 3:
                try:
                    identify_occurrence(db, owner, occurrence_id, agree_with="model")
                    continue
                except InvalidInput:  # the model's label names no taxon: name one
                    pass
            identify_occurrence(db, owner, occurrence_id, taxon_id=taxon)
            if n % 5 == 4:
                identify_occurrence(db, other, occurrence_id, taxon_id=other_taxon)
    finally:
        platform.close()
