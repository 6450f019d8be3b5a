"""Request and response bodies of jobs and their tasks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictFloat, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from trapline.domain.processing.jobs import (
    DispatchMode,
    Job,
    JobParams,
    JobStatus,
    TaskCounts,
    TaskInfo,
)
from trapline.protocol.base import NOT_TEXT, ONE_LINE, Slug, Version
from trapline.schemas.common import BodyId, Input, Instant
from trapline.services.processing.jobs import MAX_JOB_IMAGES, JobDetail

#: Most image ids one job request may list, repeats included: repeats are merged before
#: MAX_JOB_IMAGES applies, and a list this long is still cheap to refuse.
MAX_SENT_IMAGE_IDS = 10 * MAX_JOB_IMAGES


class JobSettingsIn(Input):
    """Settings of this run that its pipeline declares."""

    threshold: Annotated[StrictFloat, Field(ge=0, le=1)] | None = Field(
        None,
        description="confidence under which this run's detections are not counted (default: "
        "the pipeline's); only for a pipeline that declares a threshold",
    )


class JobParamsIn(Input):
    max_attempts: Annotated[int, Field(ge=1, le=100), NOT_TEXT] = 3
    lease_seconds: Annotated[int, Field(ge=1, le=24 * 3600), NOT_TEXT] = 300
    failure_threshold: Annotated[StrictFloat, Field(ge=0, le=1)] = 0.5
    reprocess: StrictBool = False
    settings: JobSettingsIn = Field(default_factory=JobSettingsIn)
    boxes_from: Slug | None = Field(
        None,
        description="classify the current boxes of this pipeline on each photo instead of "
        "detecting (only for a pipeline that classifies boxes it is given); photos without "
        "such boxes are left out",
    )

    def to_params(self) -> JobParams:
        return JobParams(
            max_attempts=self.max_attempts,
            lease_seconds=self.lease_seconds,
            failure_threshold=self.failure_threshold,
            reprocess=self.reprocess,
            threshold=self.settings.threshold,
            boxes_from=self.boxes_from,
        )


class JobIn(Input):
    project_id: BodyId
    pipeline: Slug = Field(description="pipeline slug")
    pipeline_version: Version | None = Field(
        None, description="the version to run (default: the newest enabled in the project)"
    )
    collection_id: BodyId | None = None
    image_ids: list[BodyId] | None = Field(
        None,
        max_length=MAX_SENT_IMAGE_IDS,
        description=f"at most {MAX_JOB_IMAGES} different ids (a repeated id counts once, and"
        f" at most {MAX_SENT_IMAGE_IDS} are read); for more, make a collection and give "
        "collection_id",
    )
    deployment_id: BodyId | None = None
    name: Annotated[str, StringConstraints(max_length=255, pattern=ONE_LINE)] | None = None
    start_now: StrictBool = True
    dispatch_mode: Literal[DispatchMode.ASYNC_API, DispatchMode.SYNC_API] = Field(
        DispatchMode.ASYNC_API,
        description="async_api: pulled by workers; sync_api: pushed to a processing service",
    )
    params: JobParamsIn = Field(default_factory=JobParamsIn)

    @field_validator("image_ids")
    @classmethod
    def _once_each(cls, ids: list[int] | None) -> list[int] | None:
        # A repeated id is the same image: the job has one task per image.
        if ids is None:
            return None
        once = list(dict.fromkeys(ids))
        if len(once) > MAX_JOB_IMAGES:
            raise PydanticCustomError(
                "too_long",
                "at most {limit} different image ids (got {count}); for more, make a collection"
                " and give collection_id",
                {"limit": MAX_JOB_IMAGES, "count": len(once)},
            )
        return once


class CountsOut(BaseModel):
    total: int
    queued: int
    leased: int
    succeeded: int
    failed: int
    canceled: int

    @classmethod
    def of(cls, c: TaskCounts) -> CountsOut:
        return cls(
            total=c.total,
            queued=c.queued,
            leased=c.leased,
            succeeded=c.succeeded,
            failed=c.failed,
            canceled=c.canceled,
        )


class JobOut(BaseModel):
    id: int
    project_id: int
    name: str
    status: JobStatus
    pipeline_slug: str
    pipeline_version: int
    dispatch_mode: DispatchMode
    params: dict[str, Any]
    selection: dict[str, Any]
    counts: CountsOut
    progress: float
    created_at: Instant
    queued_at: Instant | None
    started_at: Instant | None
    finished_at: Instant | None


class EventOut(BaseModel):
    created_at: Instant
    status: JobStatus | None
    message: str


class HoldingOut(BaseModel):
    """The job's tasks one worker holds now."""

    worker: str = Field(description="the worker's name, as its leases carry it")
    tasks: int
    last_seen_at: Instant | None = Field(description="when the worker was last heard from")
    free_again_at: Instant = Field(
        description="when the first of these tasks goes back to the queue if the worker says "
        "nothing before (its lease runs out)"
    )


class JobDetailOut(JobOut):
    throughput_per_minute: float
    eta_seconds: float | None
    events: list[EventOut]
    waiting_for_worker: bool = Field(
        False,
        description="running with tasks queued but none taken, and no worker that runs its "
        "pipeline seen in the last 5 minutes: start one (docs/worker.md)",
    )
    leased_by: list[HoldingOut] = Field(
        default_factory=list,
        description="who holds the job's leased tasks now (the 20 holding most), each with "
        "when it was last heard from and when its tasks go back to the queue: a worker that "
        "vanished shows here until then",
    )


def job_out(job: Job, counts: TaskCounts) -> dict[str, Any]:
    """Fields shared by the job list and detail."""
    return {
        "id": job.id,
        "project_id": job.project_id,
        "name": job.name,
        "status": job.status,
        "pipeline_slug": job.pipeline_slug,
        "pipeline_version": job.pipeline_version,
        "dispatch_mode": job.dispatch_mode,
        "params": job.params.as_json(),
        "selection": job.selection,
        "counts": CountsOut.of(counts),
        # A job that ended with nothing to do is done; one whose tasks are not made yet is not.
        "progress": 1.0 if job.status.is_final and not counts.total else round(counts.progress, 4),
        "created_at": job.created_at,
        "queued_at": job.queued_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
    }


def job_detail_out(detail: JobDetail) -> JobDetailOut:
    """The detail body of a job."""
    return JobDetailOut(
        **job_out(detail.job, detail.counts),
        throughput_per_minute=round(detail.per_minute, 2),
        eta_seconds=round(detail.eta_seconds, 1) if detail.eta_seconds is not None else None,
        waiting_for_worker=detail.waiting_for_worker,
        leased_by=[
            HoldingOut(
                worker=h.worker,
                tasks=h.tasks,
                last_seen_at=h.last_seen_at,
                free_again_at=h.free_at,
            )
            for h in detail.holdings
        ],
        events=[
            EventOut(created_at=e.created_at, status=e.status, message=e.message)
            for e in detail.events
        ],
    )


class TaskInfoOut(BaseModel):
    id: int
    image_id: int
    status: str
    attempts: int
    max_attempts: int
    last_error: str | None
    lease_holder: str | None
    updated_at: Instant

    @classmethod
    def of(cls, t: TaskInfo) -> TaskInfoOut:
        return cls(
            id=t.id,
            image_id=t.image_id,
            status=t.status.value,
            attempts=t.attempt,
            max_attempts=t.max_attempts,
            last_error=t.last_error,
            lease_holder=t.lease_holder,
            updated_at=t.updated_at,
        )
