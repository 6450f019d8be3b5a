"""Request and response bodies of pipelines, processing services, workers and service tokens."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from trapline.domain.pipelines.pipelines import ProjectPipeline, ServiceStatus, WorkerInfo
from trapline.protocol.base import ONE_LINE
from trapline.schemas.common import Input, Instant


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
    #: Confidence under which the pipeline's detections are not counted as finds.
    default_threshold: float | None = None
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
            default_threshold=p.pipeline.default_threshold,
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
