"""Jobs: creation, start-up, listing, detail, cancel, retry and deletion."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.types import utcnow
from trapline.domain.core.records import ImageFilter, User
from trapline.domain.core.roles import Role
from trapline.domain.processing.jobs import (
    CANCELABLE_JOB_STATUSES,
    DispatchMode,
    Holding,
    Job,
    JobEvent,
    JobParams,
    JobStatus,
    TaskCounts,
    outcome,
)
from trapline.errors import Conflict, InvalidInput
from trapline.queue.base import TaskQueue
from trapline.services.core.access import project_for, require
from trapline.services.processing.job_selection import (
    check_boxes_from,
    check_runnable,
    check_selection,
    selected_count,
    selection_filter,
    skipped_note,
)

log = logging.getLogger(__name__)

#: Tasks of a new job from which the database's statistics of tasks are refreshed at once.
FRESH_STATISTICS_AT = 10_000
#: How the events of a job's failed tries to start begin (they are counted to give up).
START_FAILED = "could not start: "
#: Most images a job may name one by one (``image_ids``): the ids go into one statement,
#: and databases take at most some tens of thousands of parameters in one. Larger selections
#: are a collection, a deployment or the whole project, which need no list of ids.
MAX_JOB_IMAGES = 10_000
#: A worker seen this recently (its claims, results and lease renewals) counts as online.
WORKER_SEEN_WITHIN = timedelta(minutes=5)


@dataclass(frozen=True)
class JobDetail:
    """A job with its counters, speed and history."""

    job: Job
    counts: TaskCounts
    per_minute: float
    eta_seconds: float | None
    events: list[JobEvent]
    #: Running with tasks queued, none taken, and no worker that runs its pipeline seen
    #: lately: it waits for one to start.
    waiting_for_worker: bool = False
    #: Who holds its leased tasks now, and when each was last heard from.
    holdings: tuple[Holding, ...] = ()


def create_job(
    db: Database,
    caller: User,
    *,
    project_id: int,
    pipeline_slug: str,
    selection: dict[str, Any],
    name: str | None,
    start_now: bool,
    params: JobParams,
    dispatch_mode: DispatchMode = DispatchMode.ASYNC_API,
    pipeline_version: int | None = None,
) -> Job:
    """Create a job (members) of a pipeline's ``pipeline_version`` (None: its newest). Its
    tasks are enqueued afterwards by ``start_job``."""
    # "filter" (an ImageFilter as JSON) comes from the web app's image grid.
    chosen = [
        k
        for k in ("collection_id", "image_ids", "deployment_id", "filter")
        if selection.get(k) is not None
    ]
    if len(chosen) > 1:
        raise InvalidInput(
            f"give at most one of collection_id, image_ids, deployment_id (got {', '.join(chosen)})"
        )
    selection = {k: selection[k] for k in chosen}
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MEMBER)
        return add_job(
            repos,
            project_id=project_id,
            pipeline_slug=pipeline_slug,
            selection=selection,
            name=name,
            start_now=start_now,
            params=params,
            dispatch_mode=dispatch_mode,
            created_by=caller.id,
            pipeline_version=pipeline_version,
        )


def add_job(
    repos: Repos,
    *,
    project_id: int,
    pipeline_slug: str,
    selection: dict[str, Any],
    name: str | None,
    start_now: bool,
    params: JobParams,
    dispatch_mode: DispatchMode,
    created_by: int | None,
    pipeline_version: int | None = None,
) -> Job:
    """Create a job in the caller's transaction, access already checked (``create_job``, or
    a pull source's run for its own project)."""
    pipeline = repos.pipelines.pipelines.resolve(project_id, pipeline_slug, pipeline_version)
    if pipeline is None and pipeline_version is not None:
        versions = repos.pipelines.pipelines.versions(project_id, pipeline_slug)
        if versions:
            known = ", ".join(str(v) for v in versions)
            raise InvalidInput(
                f"pipeline_version: {pipeline_slug!r} has no version {pipeline_version} enabled "
                f"in project {project_id} (its versions: {known})",
                field="pipeline_version",
            )
    if pipeline is None:
        raise InvalidInput(
            f"pipeline {pipeline_slug!r} is not registered and enabled in project "
            f"{project_id}; see GET /api/v2/projects/{project_id}/pipelines/",
            field="pipeline",
        )
    check_runnable(repos.pipelines.pipelines.services_of(pipeline.id), pipeline_slug, dispatch_mode)
    if params.threshold is not None and pipeline.default_threshold is None:
        raise InvalidInput(
            f"params.settings.threshold: pipeline {pipeline_slug!r} v{pipeline.version} "
            "declares no threshold, so a run of it takes none",
            field="params",
        )
    check_selection(repos, project_id, selection)
    if not selected_count(repos, project_id, selection):
        raise InvalidInput(
            "the selection has no images: upload some to the project first, or choose "
            "another deployment or collection"
        )
    if params.boxes_from is not None:
        check_boxes_from(repos, project_id, pipeline, selection, params.boxes_from)
    job = repos.processing.jobs.create(
        project_id=project_id,
        pipeline_id=pipeline.id,
        name=name or f"{pipeline.name} v{pipeline.version}",
        dispatch_mode=dispatch_mode,
        params=params,
        selection=selection,
        start_now=start_now,
        created_by=created_by,
    )
    log.info("job %s created in project %s for pipeline %s", job.id, project_id, pipeline_slug)
    return job


def start_job(db: Database, queue: TaskQueue, job_id: int) -> None:
    """Enqueue a created job's tasks (created → queued) and open it to workers (→ running)."""
    with db.read() as repos:
        job = repos.processing.jobs.get(job_id)
        flt, collection_id = (
            selection_filter(repos, job.selection) if job else (ImageFilter(), None)
        )
    if job is None or job.status not in (JobStatus.CREATED, JobStatus.QUEUED):
        return
    named = job.selection.get("image_ids")
    if named is not None and len(named) > MAX_JOB_IMAGES:
        # Made before the limit was checked on creation: it would fail the same way each time.
        raise InvalidInput(
            f"the job names {len(named)} images one by one, more than the {MAX_JOB_IMAGES} a "
            "job can; make a collection of them and create a job over it"
        )
    count = 0
    if job.status is JobStatus.CREATED:
        count = queue.enqueue(
            job, flt, collection_id=collection_id, image_ids=job.selection.get("image_ids")
        )
        with db.read() as repos:
            message = f"{count} tasks queued{skipped_note(repos, job, count)}"
        with db.write() as repos:
            queued = repos.processing.jobs.transition(
                job_id, [JobStatus.CREATED], JobStatus.QUEUED, message, queued_at=utcnow()
            )
            if not queued:
                # Canceled while its tasks were being made: cancel those too. Otherwise another
                # start (a replica's recovery duty, a second request) got there first, and its
                # tasks, the same as these, are the job's.
                current = repos.processing.jobs.get(job_id)
                if current is not None and current.status is JobStatus.CANCELED:
                    repos.processing.tasks.cancel_job(job_id, now=utcnow())
                return
    with db.write() as repos:
        repos.processing.jobs.transition(
            job_id, [JobStatus.QUEUED], JobStatus.RUNNING, "open to workers", started_at=utcnow()
        )
        finished = finish_if_done(repos, job_id)
    if finished:
        queue.finished(job_id)
    if count >= FRESH_STATISTICS_AT:
        # The planner must know the job is large before workers post results: taking it for
        # a few rows, it finds a result's tasks by scanning the whole job (~100x slower).
        # Autovacuum would tell it, but maybe a minute later, or never where it is off.
        db.refresh_statistics("tasks")


def record_start_failure(
    db: Database, queue: TaskQueue, job_id: int, reason: str, *, retry: bool, max_tries: int
) -> bool:
    """Note that starting a job failed; fail the job if it cannot start. True if it failed.

    A job fails at once when ``retry`` is false (the same selection would fail again), and
    otherwise after ``max_tries`` failed tries: each try leaves an event in its history, so
    a job that cannot start is not retried forever by every replica's recovery duty.
    """
    with db.write() as repos:
        job = repos.processing.jobs.get(job_id)
        if job is None or job.status not in (JobStatus.CREATED, JobStatus.QUEUED):
            return False
        tries = 1 + sum(
            e.message.startswith(START_FAILED) for e in repos.processing.jobs.events(job_id)
        )
        if retry and tries < max_tries:
            repos.processing.jobs.add_event(
                job_id, None, f"{START_FAILED}{reason} (try {tries} of {max_tries}; trying again)"
            )
            return False
        failed = repos.processing.jobs.transition(
            job_id,
            [JobStatus.CREATED, JobStatus.QUEUED],
            JobStatus.FAILED,
            f"{START_FAILED}{reason}",
            finished_at=utcnow(),
        )
        if failed:
            repos.processing.tasks.cancel_job(job_id, now=utcnow())
    if failed:
        log.warning("job %s failed: it could not start: %s", job_id, reason)
        queue.finished(job_id)
    return failed


def mark_start(db: Database, caller: User, job_id: int) -> None:
    """Ask for a job created with ``start_now: false`` to start (members)."""
    with db.write() as repos:
        job = require(repos.processing.jobs.get(job_id), "job", job_id)
        project_for(repos, caller, job.project_id, Role.MEMBER, asked=("job", job_id))
        if job.status not in (JobStatus.CREATED, JobStatus.QUEUED):
            raise Conflict(f"job {job_id} is {job.status.value}; only a created job can be started")
        repos.processing.jobs.set_start_now(job_id)


def finish_if_done(repos: Repos, job_id: int, *, settled: int | None = None) -> JobStatus | None:
    """End a running job none of whose tasks is open; returns its final status if it ended now.

    ``settled``: how many tasks this transaction took out of the open states (results). The
    job's count of open tasks then says whether the tasks table needs asking at all, which on
    a large job costs far more than storing the results. Without it (duties, a job just
    opened) the tasks table decides.
    """
    if settled is not None:
        # The count's update also holds the job's row until the commit, so of two results
        # settling the last tasks at once the second sees the first's tasks settled.
        left = repos.processing.tasks.shift_open(job_id, -settled)
        if left is None or left > 0:
            return None
    else:
        repos.processing.jobs.lock(job_id)
    if repos.processing.tasks.has_open(job_id):
        if settled is not None:
            log.warning("job %s: its count of open tasks was off; counted again", job_id)
            repos.processing.tasks.recount_open(job_id)
        return None
    job = repos.processing.jobs.get(job_id)
    if job is None or job.status is not JobStatus.RUNNING:
        return None
    counts = repos.processing.tasks.counts(job_id)
    final = outcome(counts, job.params.failure_threshold)
    message = f"{counts.succeeded} succeeded, {counts.failed} failed, {counts.canceled} canceled"
    if repos.processing.jobs.transition(
        job_id, [JobStatus.RUNNING], final, message, finished_at=utcnow()
    ):
        log.info("job %s %s: %s", job_id, final.value, message)
        return final
    return None


def list_jobs(
    db: Database,
    caller: User,
    *,
    project_id: int | None,
    limit: int,
    offset: int,
    statuses: Sequence[JobStatus] = (),
    pipeline_slugs: Sequence[str] = (),
    incomplete_only: bool = False,
    dispatch_mode: DispatchMode | None = None,
    with_counts: bool = True,
) -> tuple[int, list[Job], dict[int, TaskCounts]]:
    """Jobs of the caller's projects, newest first, and their task counts by job id (none
    without ``with_counts``: a worker polling for job ids throws them away)."""
    with db.read() as repos:
        if project_id is not None:
            project_for(repos, caller, project_id, Role.VIEWER)
            projects: list[int] | None = [project_id]
        else:
            projects = None if caller.is_admin else repos.core.projects.ids_for(caller.id)
        total, jobs = repos.processing.jobs.page(
            project_ids=projects,
            statuses=list(statuses),
            pipeline_slugs=list(pipeline_slugs),
            incomplete_only=incomplete_only,
            dispatch_mode=dispatch_mode,
            limit=limit,
            offset=offset,
        )
        counts = (
            {job.id: repos.processing.tasks.counts(job.id) for job in jobs} if with_counts else {}
        )
        return total, jobs, counts


def _served(repos: Repos, job: Job, since: datetime) -> bool:
    """Whether a worker seen since ``since`` serves the job's pipeline version
    (``WorkerAccess.serves``)."""
    return any(
        repos.pipelines.pipelines.registered_by(user_id).serves(
            job.project_id, job.pipeline_slug, job.pipeline_version
        )
        for user_id in sorted(repos.pipelines.workers.serving(job.pipeline_slug, since))
    )


def get_job(db: Database, caller: User, job_id: int) -> JobDetail:
    """A job with counters, throughput, ETA and history.

    Throughput is the images processed (succeeded or failed; canceled ones are not) over the
    job's own running time, until it finished or until now.
    """
    now = utcnow()
    with db.read() as repos:
        job = require(repos.processing.jobs.get(job_id), "job", job_id)
        project_for(repos, caller, job.project_id, Role.VIEWER, asked=("job", job_id))
        counts = repos.processing.tasks.counts(job_id)
        events = repos.processing.jobs.events(job_id)
        waiting = (
            job.status is JobStatus.RUNNING
            and job.dispatch_mode is DispatchMode.ASYNC_API
            and counts.queued > 0
            and counts.leased == 0
            and not _served(repos, job, now - WORKER_SEEN_WITHIN)
        )
        held = repos.processing.tasks.holdings(job_id) if counts.leased else []
        seen = repos.pipelines.workers.last_seen([worker for worker, _, _ in held])
    holdings = tuple(Holding(w, n, free_at, seen.get(w)) for w, n, free_at in held)
    per_minute = 0.0
    if job.started_at is not None:
        running = max((job.finished_at or now) - job.started_at, timedelta(seconds=1))
        per_minute = (counts.succeeded + counts.failed) / (running.total_seconds() / 60)
    eta = None
    if counts.open and per_minute > 0 and not job.status.is_final:
        eta = counts.open / per_minute * 60
    return JobDetail(
        job, counts, per_minute, eta, events, waiting_for_worker=waiting, holdings=holdings
    )


def cancel_job(db: Database, queue: TaskQueue, caller: User, job_id: int) -> Job:
    """Cancel a job (members): no task is handed out after this returns."""
    with db.write() as repos:
        job = require(repos.processing.jobs.get(job_id), "job", job_id)
        project_for(repos, caller, job.project_id, Role.MEMBER, asked=("job", job_id))
        if job.status is not JobStatus.CANCELED:
            moved = repos.processing.jobs.transition(
                job_id,
                list(CANCELABLE_JOB_STATUSES),
                JobStatus.CANCELED,
                f"canceled by {caller.email}",
                finished_at=utcnow(),
            )
            if not moved:
                raise Conflict(
                    f"job {job_id} already ended ({job.status.value}); nothing to cancel"
                )
            canceled = repos.processing.tasks.cancel_job(job_id, now=utcnow())
            repos.processing.jobs.add_event(job_id, None, f"{canceled} open tasks canceled")
        job = require(repos.processing.jobs.get(job_id), "job", job_id)
    queue.finished(job_id)
    return job


def retry_job(db: Database, queue: TaskQueue, caller: User, job_id: int) -> int:
    """Requeue a job's failed tasks with fresh tries (members); returns how many."""
    with db.write() as repos:
        job = require(repos.processing.jobs.get(job_id), "job", job_id)
        project_for(repos, caller, job.project_id, Role.MEMBER, asked=("job", job_id))
        if job.status in (JobStatus.CANCELED, JobStatus.CREATED, JobStatus.QUEUED):
            raise Conflict(f"job {job_id} is {job.status.value}; only started jobs can be retried")
        requeued = repos.processing.tasks.retry_failed(job_id, now=queue.clock.now())
        if requeued:
            message = f"{requeued} failed tasks requeued by {caller.email}"
            ended = [JobStatus.COMPLETED_WITH_ERRORS, JobStatus.FAILED]
            if not repos.processing.jobs.transition(
                job_id, ended, JobStatus.RUNNING, message, finished_at=None
            ):
                repos.processing.jobs.add_event(job_id, None, message)
    if requeued:
        queue.notify_queued(job_id)
    return requeued


def delete_job(db: Database, queue: TaskQueue, caller: User, job_id: int) -> None:
    """Delete a job and its tasks (managers); analyses it stored stay with their images."""
    with db.write() as repos:
        job = require(repos.processing.jobs.get(job_id), "job", job_id)
        project_for(repos, caller, job.project_id, Role.MANAGER, asked=("job", job_id))
        repos.processing.jobs.delete(job_id)
    queue.finished(job_id)
