"""Jobs: create, list (Antenna filters), detail, actions; and the per-job worker protocol."""

from __future__ import annotations

import random
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from trapline.api.deps import (
    CurrentUser,
    CurrentWorker,
    DatabaseDep,
    DispatchDep,
    QueueDep,
    StarterDep,
)
from trapline.domain.processing.jobs import DispatchMode, JobStatus, TaskCounts, TaskStatus
from trapline.errors import InvalidInput
from trapline.http.pagination import decode_cursor, keyed_page, offset_page
from trapline.http.params import (
    DEFAULT_LIMIT,
    MAX_QUERY_LIST,
    Id,
    Limit,
    ListingOffset,
    Offset,
    QueryCursor,
    QueryId,
    QueryList,
)
from trapline.protocol.base import ONE_LINE
from trapline.protocol.tasks import TasksResponse
from trapline.schemas.jobs import JobDetailOut, JobIn, JobOut, TaskInfoOut, job_detail_out, job_out
from trapline.services.processing import jobs, tasks
from trapline.services.processing.tasks import MAX_BATCH

router = APIRouter(tags=["jobs"])

_STATUS = "|".join(s.value for s in JobStatus)
#: Job statuses separated by commas (spaces around them do not matter).
_STATUS_LIST = rf"^\s*({_STATUS})?\s*(,\s*({_STATUS})?\s*)*$"


@router.post("/jobs", status_code=201)
def create_job(body: JobIn, caller: CurrentUser, db: DatabaseDep, starter: StarterDep) -> JobOut:
    """Create a job running a pipeline over a set of images (members)."""
    selection = {
        "collection_id": body.collection_id,
        "image_ids": body.image_ids,
        "deployment_id": body.deployment_id,
    }
    job = jobs.create_job(
        db,
        caller,
        project_id=body.project_id,
        pipeline_slug=body.pipeline,
        pipeline_version=body.pipeline_version,
        selection=selection,
        name=body.name,
        start_now=body.start_now,
        params=body.params.to_params(),
        dispatch_mode=body.dispatch_mode,
    )
    if body.start_now:
        starter.submit(job.id)
    return JobOut(**job_out(job, TaskCounts()))


@router.get("/jobs")
def list_jobs(
    request: Request,
    caller: CurrentWorker,
    db: DatabaseDep,
    project: QueryId = None,
    project_id: QueryId = None,
    status: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY_LIST,
            pattern=_STATUS_LIST,
            description="comma-separated statuses: " + ", ".join(s.value for s in JobStatus),
        ),
    ] = None,
    pipeline__slug__in: QueryList = None,
    pipeline__slug: Annotated[str | None, Query(max_length=200, pattern=ONE_LINE)] = None,
    ids_only: bool = False,
    incomplete_only: bool = False,
    dispatch_mode: DispatchMode | None = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Jobs of your projects; ``ids_only=1`` gives ``[{"id", "pipeline_slug"}]`` for workers."""
    slugs = [s for s in (pipeline__slug__in or "").split(",") if s]
    if pipeline__slug:
        slugs.append(pipeline__slug)
    total, found, counts = jobs.list_jobs(
        db,
        caller,
        project_id=project if project is not None else project_id,
        statuses=_statuses(status),
        pipeline_slugs=slugs,
        incomplete_only=incomplete_only,
        dispatch_mode=dispatch_mode,
        limit=limit,
        offset=offset,
        with_counts=not ids_only,
    )
    if ids_only:
        # Random order spreads workers that drain jobs in the order listed across jobs.
        found = random.sample(found, len(found))
        items: list[Any] = [{"id": j.id, "pipeline_slug": j.pipeline_slug} for j in found]
    else:
        items = [JobOut(**job_out(j, counts[j.id])) for j in found]
    return offset_page(request, total, items, limit, offset)


@router.get("/jobs/{job_id}")
def get_job(job_id: Id, caller: CurrentUser, db: DatabaseDep) -> JobDetailOut:
    """A job: status, counters, progress, throughput, ETA and history."""
    return job_detail_out(jobs.get_job(db, caller, job_id))


@router.delete("/jobs/{job_id}", status_code=204)
def delete_job(job_id: Id, caller: CurrentUser, db: DatabaseDep, queue: QueueDep) -> Response:
    """Delete a job and its tasks (managers); stored results stay with their images."""
    jobs.delete_job(db, queue, caller, job_id)
    return Response(status_code=204)


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: Id, caller: CurrentUser, db: DatabaseDep, queue: QueueDep) -> JobDetailOut:
    """Cancel a job; no task is handed out after this returns."""
    jobs.cancel_job(db, queue, caller, job_id)
    return job_detail_out(jobs.get_job(db, caller, job_id))


@router.post("/jobs/{job_id}/retry")
def retry_job(job_id: Id, caller: CurrentUser, db: DatabaseDep, queue: QueueDep) -> JobDetailOut:
    """Requeue a job's failed tasks with fresh tries."""
    jobs.retry_job(db, queue, caller, job_id)
    return job_detail_out(jobs.get_job(db, caller, job_id))


@router.post("/jobs/{job_id}/start")
def start_job(
    job_id: Id, caller: CurrentUser, db: DatabaseDep, starter: StarterDep
) -> JobDetailOut:
    """Start a job created with ``start_now: false``."""
    jobs.mark_start(db, caller, job_id)
    starter.submit(job_id)
    return job_detail_out(jobs.get_job(db, caller, job_id))


@router.get("/jobs/{job_id}/tasks")
def list_tasks(
    request: Request,
    job_id: Id,
    caller: CurrentWorker,
    db: DatabaseDep,
    dispatch: DispatchDep,
    status: TaskStatus | None = None,
    batch: Annotated[
        int | None, Query(ge=1, le=MAX_BATCH, description="legacy claim: GET …/tasks/?batch=N")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: ListingOffset = 0,
    cursor: QueryCursor = None,
) -> Any:
    """A job's tasks by id (``status=failed`` lists failures with their errors); follow
    ``next`` and ``previous`` to page at any depth."""
    if batch is not None:  # older AMI workers claimed with GET …/tasks?batch=N
        size = tasks.check_batch_size(batch)
        claimed = tasks.claim_for_job(dispatch, caller, job_id, size, None)
        return TasksResponse(tasks=claimed).model_dump(exclude_none=True)
    position = decode_cursor(cursor)
    total, found, more = tasks.list_tasks(
        db, caller, job_id, status, limit=limit, offset=offset, cursor=position
    )
    results = [TaskInfoOut.of(t) for t in found]
    if "offset" in request.query_params and position is None:
        return offset_page(request, total, results, limit, offset)
    keys = [(None, t.id) for t in found]
    return keyed_page(request, total, keys, results, more=more, cursor=position, offset=offset)


def _statuses(text: str | None) -> list[JobStatus]:
    found = []
    for value in (text or "").split(","):
        if not value.strip():
            continue
        try:
            found.append(JobStatus(value.strip().lower()))
        except ValueError:
            known = ", ".join(s.value for s in JobStatus)
            raise InvalidInput(f"unknown job status {value!r}; use one of {known}") from None
    return found
