"""Loading the benchmark data set (``dataset.py``) step by step through the product's own
repositories and services, each step in batches the way the product batches it: the three
projects and their deployments, the photos, their events, the taxa list, each pipeline run
(``dataset_pipelines.py``), the reviews, the tracking and the identifications.

What can run beside the product's writes does: another process makes the next batch of
results while the product stores the last one. On PostgreSQL, events are tracked and
occurrences identified in ``PROCESSES`` processes, each a share of them; on SQLite, where
writers take turns (and a writer of another process polls for the lock with sleeps), in this
process one after another: two processes took longer there, in wall and CPU time alike
(``docs/benchmarks.md``). Each step's wall time and CPU time (this process and the ones it
started) are kept.
"""

from __future__ import annotations

import logging
import resource
import sys
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime
from functools import partial
from multiprocessing import get_context
from typing import Any

from dataset_layout import PROJECTS, Layout, layout
from dataset_pipelines import PIPELINES, Run, pipeline_config
from dataset_scene import Variant, analysis, image_rows, scene_key, species_labels, taxa_entries
from sqlalchemy import text

from trapline.domain.core.event_rules import ProjectKind
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.ecology.reviews import Verdict
from trapline.domain.processing.jobs import JobParams, TaskStatus
from trapline.domain.processing.results import AnalysisDraft
from trapline.errors import InvalidInput
from trapline.platform import Platform
from trapline.protocol.pipelines import PipelineRegistration
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


class Loader:
    """Loads the three projects of the set of ``images`` measured photos; ``seconds`` says what
    each step took."""

    def __init__(
        self, platform: Platform, seed: int, images: int, *, owner: str, identifier: str,
        password: str, feature_every: int = 1,
    ) -> None:  # fmt: skip
        self.platform, self.db, self.seed, self.images = platform, platform.db, seed, images
        self.layout: Layout = layout(seed, images)
        self.emails, self.password = (owner, identifier), password
        self.feature_every = feature_every
        #: The projects' ids (in the order of ``PROJECTS``) and each deployment's, by number.
        self.project_ids: list[int] = []
        self.deployment_of: dict[int, int] = {}
        self.keys: dict[int, tuple[int, int, int]] = {}
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}

    @property
    def project_id(self) -> int:
        """The measured project's id."""
        return self.project_ids[0]

    @property
    def deployment_ids(self) -> list[int]:
        """The measured project's deployments' ids, in the order of their sites."""
        return [self.deployment_of[s.number] for s in self.layout.of_project(0)]

    def load(self) -> None:
        self._step("projects", self._projects)
        self._step("images", self._images)
        self._step("events", self._events)
        self._step("taxa", self._taxa)
        for run in PIPELINES:
            where = "" if run.project == 0 else f"{PROJECTS[run.project].name}: "
            self._step(f"{where}{run.slug} v{run.version}", partial(self._run, run))
        self._step("reviews", self._reviews)
        self._step("tracking", self._track)
        self._step("identifications", self._identify)
        self._step("statistics", self._statistics)

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
            found = [repos.core.users.by_email(email) for email in self.emails]
        owner, other = found
        assert owner is not None
        assert other is not None
        return owner, other

    def _projects(self) -> None:
        """The people, the three projects (light traps: photos grouped by night) and their
        deployments, each in its zone; the identifier is a member of the measured one."""
        with self.db.write() as repos:
            owner = repos.core.users.create(self.emails[0], "Bench Owner", is_admin=True)
            other = repos.core.users.create(self.emails[1], "Ida Identifier")
            for plan in PROJECTS:
                project = repos.core.projects.create(
                    plan.name, plan.description, owner.id, ProjectKind.LIGHT_TRAP
                )
                repos.core.projects.update(project.id, time_zone=plan.time_zone)
                self.project_ids.append(project.id)
            repos.core.projects.set_role(self.project_id, other.id, Role.MEMBER)
            for station in self.layout.stations:
                site = station.site
                self.deployment_of[station.number] = repos.core.deployments.create(
                    self.project_ids[station.project], name=site.name, time_zone=site.zone,
                    latitude=site.latitude, longitude=site.longitude,
                ).id  # fmt: skip
        for user in (owner, other):
            accounts.set_password(self.db, None, user.id, self.password)

    def _images(self) -> None:
        """Every night's photos, deployment by deployment, ``IMAGE_BATCH`` rows an insert."""
        owner, _ = self._people()
        for station in self.layout.stations:
            project_id = self.project_ids[station.project]
            pending: list[dict[str, Any]] = []
            for n, night in enumerate(station.nights):
                pending += image_rows(self.seed, night, self.deployment_of[station.number])
                if len(pending) >= IMAGE_BATCH or n == len(station.nights) - 1:
                    for row in pending:
                        row["uploaded_by"] = owner.id
                    with self.db.write() as repos:
                        repos.photos.images.bulk_insert(project_id, pending)
                    pending = []
        with self.db.read() as repos:
            rows = repos.session.execute(text("SELECT id, sha256 FROM images"))
            self.keys = {int(i): scene_key(sha) for i, sha in rows}
        self.db.refresh_statistics("images")

    def _events(self) -> None:
        for deployment_id in self.deployment_of.values():
            with self.db.write() as repos:
                repos.ecology.events.regroup(deployment_id)
        self.db.refresh_statistics("image_events")

    def _taxa(self) -> None:
        """One taxa list, the measured project's, that every project counts under."""
        with self.db.write() as repos:
            taxa_list = repos.taxa.taxa.create_list("European moths", self.project_id)
            for project_id in self.project_ids:
                repos.taxa.taxa.use_list(project_id, taxa_list.id)
            store_entries(repos, taxa_list.id, taxa_entries())

    def _run(self, run: Run) -> None:
        """Register a pipeline version in a project and run it as jobs: over all its photos, or
        over every ``run.every``-th deployment, one job each. Another process makes the
        results (ending with the step, so that its CPU time is the step's)."""
        owner, _ = self._people()
        project_id = self.project_ids[run.project]
        config = pipeline_config(run)
        registration = PipelineRegistration(
            processing_service_name="AMI worker", pipelines=[config]
        )
        register_pipelines(self.db, owner, project_id, registration)
        with self.db.read() as repos:
            pipeline = repos.pipelines.pipelines.resolve(project_id, run.slug)
        assert pipeline is not None
        assert pipeline.version == run.version
        ids = [pipeline.algorithm(f"{run.slug}-{k}") for k in ("detector", "binary", "species")]
        salt = zlib.crc32(f"{run.slug}-{run.version}".encode()) % 997  # the same every load
        variant = Variant(
            *(a.id for a in ids if a), run.jitter, run.wrong, salt, self.feature_every
        )  # fmt: skip
        selections: list[dict[str, Any]] = [{}]
        if run.every > 1:
            stations = self.layout.of_project(run.project)[:: run.every]
            selections = [{"deployment_id": self.deployment_of[s.number]} for s in stations]
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as maker:
            for selection in selections:
                job = create_job(
                    self.db, owner, project_id=project_id, pipeline_slug=run.slug,
                    selection=selection, name=None, start_now=True, params=JobParams(),
                )  # fmt: skip
                start_job(self.db, self.platform.queue, job.id)
                self._answer(maker, project_id, job.id, pipeline.id, variant)
        self.db.refresh_statistics("annotations")

    def _answer(
        self, maker: ProcessPoolExecutor, project_id: int, job_id: int, pipeline_id: int,
        variant: Variant,
    ) -> None:  # fmt: skip
        """Every task of the job answered with its result, a batch per transaction, as the
        result path stores a worker's posts (tasks completed, analyses stored, job finished).
        ``maker`` makes each batch's results while the one before is stored."""
        batches = [
            [(t.id, t.image_id, self.keys[t.image_id]) for t in tasks]
            for tasks in self._queued(job_id)
        ]
        made = _made_ahead(maker, (self.seed, self.images, variant), batches)
        for drafts in made:
            now = datetime.now(UTC)
            with self.db.write() as repos:
                done = repos.processing.tasks.complete(job_id, [d.task_id for d in drafts], now=now)
                repos.processing.analyses.store(
                    [d for d in drafts if d.task_id in done], project_id=project_id,
                    job_id=job_id, pipeline_id=pipeline_id, source="job", now=now,
                )  # fmt: skip
                finished = finish_if_done(repos, job_id, settled=len(done))
            if finished:
                self.platform.queue.finished(job_id)

    def _queued(self, job_id: int) -> Iterator[Sequence[Any]]:
        """The job's queued tasks, a batch at a time, read before any is answered."""
        with self.db.read() as repos:
            offset = 0
            while tasks := repos.processing.tasks.page(
                job_id, TaskStatus.QUEUED, limit=RESULT_BATCH, offset=offset
            )[1]:
                yield tasks
                offset += RESULT_BATCH

    def _reviews(self) -> None:
        """One box in ``REVIEW_EVERY`` of the measured project reviewed."""
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
                    repos.review.reviews.add(
                        project_id=self.project_id, image_id=image_id, annotation_id=box_id,
                        verdict=verdict, box=None, created_by=owner.id,
                        label=labels[n % 40] if verdict is Verdict.RELABEL else None,
                    )  # fmt: skip

    def _track(self) -> None:
        """Every event of every project tracked by the tracking duty's own function, shared
        out by event."""
        with self.db.read() as repos:
            due = repos.ecology.tracking.due(len(self.keys), datetime.now(UTC))
        _shared_out(_track_events, self.platform.settings, due, self._processes())
        self.db.refresh_statistics("occurrences")
        self.db.refresh_statistics("occurrence_detections")

    def _identify(self) -> None:
        """One occurrence in ``IDENTIFY_EVERY`` of the measured project identified."""
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


def _cpu_seconds() -> float:
    """CPU time of this process and of the processes it started that have ended."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))  # fmt: skip
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _made_ahead(maker: ProcessPoolExecutor, made_by: tuple[int, int, Variant],
                batches: Sequence[Sequence[Any]]) -> Iterator[list[AnalysisDraft]]:  # fmt: skip
    """The results of each batch in turn, ``maker`` making the next ones meanwhile (at most
    ``BATCHES_AHEAD``, so that memory stays a few batches' worth); ``made_by`` is the set's
    seed and size and the pipeline's variant."""
    ahead: deque[Future[list[AnalysisDraft]]] = deque()
    for batch in batches:
        ahead.append(maker.submit(_drafts, *made_by, batch))
        if len(ahead) > BATCHES_AHEAD:
            yield ahead.popleft().result()
    while ahead:
        yield ahead.popleft().result()


def _drafts(
    seed: int, images: int, variant: Variant, tasks: Sequence[tuple[int, int, tuple[int, int, int]]]
) -> list[AnalysisDraft]:
    """The results of a batch of tasks (id, photo, the photo's scene key)."""
    return [analysis(seed, images, variant, task_id, image_id, key)
            for task_id, image_id, key in tasks]  # fmt: skip


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
    # The set stores no photo files: a box without a vector (of a set too big for every
    # insect's) is tracked on its box alone, after a warning per photo that it cannot be read.
    logging.getLogger("trapline.services.ecology.appearances").setLevel(logging.ERROR)
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
            people = [repos.core.users.by_email(email) for email in work[0][4]]
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
