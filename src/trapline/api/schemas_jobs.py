"""Request and response bodies of jobs, pipelines, services and annotations."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    Field,
    StrictBool,
    StrictFloat,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

from trapline.api.schemas import BodyId, ImageOut, Input, Instant
from trapline.domain.jobs import DispatchMode, Job, JobParams, JobStatus, TaskCounts, TaskInfo
from trapline.domain.pipelines import ProjectPipeline, ServiceStatus, WorkerInfo
from trapline.domain.results import Analysis, Annotation
from trapline.protocol import NOT_TEXT, ONE_LINE, Slug
from trapline.services.jobs import MAX_JOB_IMAGES, JobDetail

#: Most image ids one job request may list, repeats included: repeats are merged before
#: MAX_JOB_IMAGES applies, and a list this long is still cheap to refuse.
MAX_SENT_IMAGE_IDS = 10 * MAX_JOB_IMAGES


class JobParamsIn(Input):
    max_attempts: Annotated[int, Field(ge=1, le=100), NOT_TEXT] = 3
    lease_seconds: Annotated[int, Field(ge=1, le=24 * 3600), NOT_TEXT] = 300
    failure_threshold: Annotated[StrictFloat, Field(ge=0, le=1)] = 0.5
    reprocess: StrictBool = False

    def to_params(self) -> JobParams:
        return JobParams(
            max_attempts=self.max_attempts,
            lease_seconds=self.lease_seconds,
            failure_threshold=self.failure_threshold,
            reprocess=self.reprocess,
        )


class JobIn(Input):
    project_id: BodyId
    pipeline: Slug = Field(description="pipeline slug")
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
    dispatch_mode: DispatchMode = DispatchMode.ASYNC_API
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


class JobDetailOut(JobOut):
    throughput_per_minute: float
    eta_seconds: float | None
    events: list[EventOut]


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
        "progress": round(counts.progress, 4),
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


class PipelineToggle(Input):
    enabled: StrictBool


class ServiceOut(BaseModel):
    id: int
    name: str
    endpoint_url: str | None
    last_seen_at: Instant | None
    online: bool

    @classmethod
    def of(cls, s: ServiceStatus) -> ServiceOut:
        return cls(
            id=s.id,
            name=s.name,
            endpoint_url=s.endpoint_url,
            last_seen_at=s.last_seen_at,
            online=s.online,
        )


class WorkerOut(BaseModel):
    id: int
    identity: str
    hostname: str | None
    software: str | None
    version: str | None
    pid: int | None
    pipelines: list[str]
    last_seen_at: Instant

    @classmethod
    def of(cls, w: WorkerInfo) -> WorkerOut:
        return cls(**w.__dict__)


class ServiceWithWorkersOut(ServiceOut):
    workers: list[WorkerOut]


class AlgorithmOut(BaseModel):
    key: str
    version: int
    name: str
    task_type: str | None
    uri: str | None
    weights_sha256: str | None
    labels: int | None = Field(description="size of the category map")


class PipelineOut(BaseModel):
    id: int
    slug: str
    version: int
    name: str
    description: str | None
    enabled: bool
    online: bool
    algorithms: list[AlgorithmOut]
    services: list[ServiceOut]

    @classmethod
    def of(cls, p: ProjectPipeline) -> PipelineOut:
        return cls(
            id=p.pipeline.id,
            slug=p.pipeline.slug,
            version=p.pipeline.version,
            name=p.pipeline.name,
            description=p.pipeline.description,
            enabled=p.enabled,
            online=any(s.online for s in p.services),
            algorithms=[
                AlgorithmOut(
                    key=a.key,
                    version=a.version,
                    name=a.name,
                    task_type=a.task_type,
                    uri=a.uri,
                    weights_sha256=a.weights_sha256,
                    labels=len(a.labels) if a.labels is not None else None,
                )
                for a in p.pipeline.algorithms
            ],
            services=[ServiceOut.of(s) for s in p.services],
        )


class ServiceTokenIn(Input):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=ONE_LINE)]


class ServiceTokenOut(BaseModel):
    id: int
    user_id: int
    name: str
    prefix: str
    token: str = Field(description="the secret; shown only in this answer")


class BoxOut(BaseModel):
    x1: float
    y1: float
    x2: float
    y2: float


class AnnotationOut(BaseModel):
    id: int
    analysis_id: int
    image_id: int
    type: str
    label: str | None
    confidence: float | None
    bbox: BoxOut | None
    data: dict[str, Any] | None
    parent_id: int | None

    @classmethod
    def of(cls, a: Annotation) -> AnnotationOut:
        box = a.box
        return cls(
            id=a.id,
            analysis_id=a.analysis_id,
            image_id=a.image_id,
            type=a.type.value,
            label=a.label,
            confidence=a.confidence,
            bbox=BoxOut(x1=box.x1, y1=box.y1, x2=box.x2, y2=box.y2) if box else None,
            data=a.data,
            parent_id=a.parent_id,
        )


class AnalysisOut(BaseModel):
    id: int
    job_id: int | None
    pipeline_slug: str | None
    pipeline_version: int | None
    source: str
    status: str
    error: str | None
    total_time: float | None
    created_at: Instant
    completed_at: Instant | None
    annotations: list[AnnotationOut]

    @classmethod
    def of(cls, a: Analysis) -> AnalysisOut:
        return cls(
            id=a.id,
            job_id=a.job_id,
            pipeline_slug=a.pipeline_slug,
            pipeline_version=a.pipeline_version,
            source=a.source,
            status=a.status.value,
            error=a.error,
            total_time=a.total_time,
            created_at=a.created_at,
            completed_at=a.completed_at,
            annotations=[AnnotationOut.of(x) for x in a.annotations],
        )


class ImageDetailOut(ImageOut):
    analyses: list[AnalysisOut]
