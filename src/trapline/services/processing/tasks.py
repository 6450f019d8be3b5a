"""Handing tasks to workers: claims per job or across jobs, and lease extension; a job's
tasks listed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from trapline.db.engine import Database
from trapline.domain.core.paging import Cursor
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.processing.jobs import (
    DispatchMode,
    Job,
    JobStatus,
    Lease,
    TaskInfo,
    TaskStatus,
)
from trapline.domain.processing.lease_tokens import (
    InvalidLeaseToken,
    LeaseClaim,
    read_lease,
    sign_lease,
)
from trapline.errors import InvalidInput, TraplineError
from trapline.protocol.pipelines import ClientInfo
from trapline.protocol.service import SourceImageRequest
from trapline.protocol.tasks import TaskOut
from trapline.queue.base import TaskQueue
from trapline.services.core.access import project_for, require, require_person, worker_project
from trapline.services.pipelines.workers import WorkerTracker, reach
from trapline.services.processing.given_boxes import boxes_for, wire_boxes
from trapline.services.processing.worker_access import WorkerAccess
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: Largest batch one claim may ask for.
MAX_BATCH = 1000


@dataclass(frozen=True)
class Dispatch:
    """What claiming needs besides the database: the queue, storage, signing and tracking."""

    queue: TaskQueue
    store: BlobStore
    secret: bytes
    tracker: WorkerTracker
    access: WorkerAccess
    url_ttl: int
    #: Makes a server-relative URL (the local store's) absolute for the calling client.
    absolute: Callable[[str], str]


def check_batch_size(value: object) -> int:
    """The batch size, or InvalidInput saying what a valid one is."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_BATCH:
        raise InvalidInput(f"batch_size must be an integer from 1 to {MAX_BATCH} (got {value!r})")
    return value


def claim_for_job(
    dispatch: Dispatch,
    caller: User,
    job_id: int,
    batch_size: int,
    client_info: ClientInfo | None,
) -> list[TaskOut]:
    """Lease tasks of one job; an empty list when the job is not running, or is of a version
    of its pipeline the caller's worker did not register."""
    job, _ = dispatch.access.worker_job(caller, job_id)
    if job.dispatch_mode is not DispatchMode.ASYNC_API:
        raise InvalidInput(
            f"job {job_id} is a {job.dispatch_mode.value} job (pushed to a processing service, "
            "or run by the platform); its tasks are not pulled"
        )
    identity = dispatch.tracker.seen(caller, client_info, [job.pipeline_slug], [job.project_id])
    if job.status is not JobStatus.RUNNING or not dispatch.access.serves(caller, job):
        return []
    leases = dispatch.queue.claim({job.id: job.params.lease_seconds}, batch_size, identity.name)
    return _hand_out(dispatch, leases, identity.name, {job.id: job}, with_job=False)


def claim_next(
    db: Database,
    dispatch: Dispatch,
    caller: User,
    pipelines: Sequence[str],
    batch_size: int,
    client_info: ClientInfo | None,
) -> list[TaskOut]:
    """Lease tasks across every running job of these pipelines the caller may serve; a
    fallback worker (``client_info.fallback``) only those of jobs no other worker serves."""
    with db.read() as repos:
        projects = reach(repos, caller)
        jobs = repos.processing.jobs.running_for_pipelines(pipelines, projects)
        jobs = [j for j in jobs if dispatch.access.serves(caller, j)]
        if jobs and client_info is not None and client_info.fallback:
            covered = dispatch.tracker.coverage(repos)
            jobs = [j for j in jobs if not covered.covers(j.pipeline_slug, j.project_id)]
    # A worker claiming across jobs serves every project its account reaches.
    identity = dispatch.tracker.seen(caller, client_info, list(pipelines), projects)
    if not jobs:
        return []
    leases = dispatch.queue.claim(
        {j.id: j.params.lease_seconds for j in jobs}, batch_size, identity.name
    )
    return _hand_out(dispatch, leases, identity.name, {j.id: j for j in jobs}, with_job=True)


def extend_leases(
    db: Database, dispatch: Dispatch, caller: User, tokens: Sequence[str], seconds: int
) -> tuple[list[str], list[str]]:
    """Extend the leases the caller holds; returns (extended, no longer held) tokens."""
    claims: dict[str, LeaseClaim] = {}
    for token in tokens:
        try:
            claims[token] = read_lease(dispatch.secret, token)
        except InvalidLeaseToken:
            continue
    job_ids = {c.job_id for c in claims.values()}
    with db.read() as repos:
        allowed = set()
        for job_id in job_ids:
            job = repos.processing.jobs.get(job_id)
            if job is not None:
                try:
                    worker_project(repos, caller, job.project_id)
                    allowed.add(job_id)
                except TraplineError:  # a job of a project the caller may not serve
                    continue
    usable = [c for c in claims.values() if c.job_id in allowed]
    held = dispatch.queue.extend(usable, seconds)
    extended = [t for t, c in claims.items() if c.job_id in allowed and c.task_id in held]
    return extended, [t for t in tokens if t not in extended]


def _hand_out(
    dispatch: Dispatch,
    leases: list[Lease],
    holder: str,
    jobs: Mapping[int, Job],
    *,
    with_job: bool,
) -> list[TaskOut]:
    """The leases as tasks; a task of a job over another pipeline's boxes carries them."""
    if not leases:
        return []
    tasks = []
    now = datetime.now(UTC)
    given = boxes_for(dispatch.access.db, jobs, leases)
    for lease in leases:
        url = dispatch.absolute(
            dispatch.store.signed_url(lease.storage_key, expires_in=dispatch.url_ttl)
        )
        token = sign_lease(
            dispatch.secret, LeaseClaim(lease.job_id, lease.task_id, lease.attempt, lease.lease_id)
        )
        boxes = given.get((lease.job_id, lease.image_id))
        image = SourceImageRequest(id=str(lease.image_id), url=url)
        tasks.append(
            TaskOut(
                id=str(lease.task_id),
                image_id=image.id,
                image_url=url,
                reply_subject=token,
                job_id=lease.job_id if with_job else None,
                lease_seconds=max(1, int((lease.expires_at - now).total_seconds())),
                detections=None if boxes is None else wire_boxes(boxes, image),
            )
        )
    # Routine: workers claim all day, and their claims are logged at DEBUG too.
    log.debug(
        "leased %d tasks to %s: job %s tasks %s",
        len(leases),
        holder,
        ",".join(sorted({str(lease.job_id) for lease in leases})),
        ",".join(str(lease.task_id) for lease in leases[:20]) + ("…" if len(leases) > 20 else ""),
    )
    return tasks


def list_tasks(
    db: Database,
    caller: User,
    job_id: int,
    status: TaskStatus | None,
    *,
    limit: int,
    offset: int = 0,
    cursor: Cursor | None = None,
) -> tuple[int, list[TaskInfo], bool]:
    """A job's tasks (people only: the route also serves older workers' claims): how many, the
    page, whether more follow."""
    require_person(caller)
    with db.read() as repos:
        job = require(repos.processing.jobs.get(job_id), "job", job_id)
        project_for(repos, caller, job.project_id, Role.VIEWER, asked=("job", job_id))
        return repos.processing.tasks.page(
            job_id, status, limit=limit, offset=offset, cursor=cursor
        )
