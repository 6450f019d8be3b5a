"""Response bodies of analyses and their annotations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from trapline.domain.processing.results import Analysis, Annotation
from trapline.schemas.common import Instant
from trapline.schemas.images import ImageOut


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
    note: str | None = Field(
        None, description="why a completed analysis found nothing, when its pipeline said"
    )
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
            note=a.note,
            total_time=a.total_time,
            created_at=a.created_at,
            completed_at=a.completed_at,
            annotations=[AnnotationOut.of(x) for x in a.annotations],
        )


class ImageDetailOut(ImageOut):
    analyses: list[AnalysisOut]
