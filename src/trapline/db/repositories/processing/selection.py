"""The images a job selects, as statements: the project's, narrowed by a collection, a list of
ids and a filter; whether its pipeline version analysed an image already; whether another
pipeline found boxes on it (a job over that pipeline's boxes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Exists, Select, exists, select

from trapline.db.tables import (
    AnalysisRow,
    AnnotationRow,
    CollectionImageRow,
    ImageRow,
    PipelineRow,
)
from trapline.domain.core.records import ImageFilter
from trapline.domain.processing.results import AnalysisStatus, AnnotationType


def selected(
    images: Select[*tuple[Any, ...]],
    project_id: int,
    flt: ImageFilter,
    collection_id: int | None,
    image_ids: Sequence[int] | None,
) -> Select[*tuple[Any, ...]]:
    """``images`` narrowed to the images a job selects: the project's, of an explicit
    collection, a list of ids and a filter."""
    images = images.where(ImageRow.project_id == project_id)
    if image_ids is not None:
        images = images.where(ImageRow.id.in_(list(image_ids)))
    if collection_id is not None:
        images = images.where(
            ImageRow.id.in_(
                select(CollectionImageRow.image_id).where(
                    CollectionImageRow.collection_id == collection_id
                )
            )
        )
    if flt.deployment_id is not None:
        images = images.where(ImageRow.deployment_id == flt.deployment_id)
    if flt.captured_after is not None:
        images = images.where(ImageRow.captured_at >= flt.captured_after)
    if flt.captured_before is not None:
        images = images.where(ImageRow.captured_at < flt.captured_before)
    return images


def analysed_by(pipeline_id: int) -> Exists:
    """An image this pipeline version completed an analysis of."""
    return exists().where(
        AnalysisRow.image_id == ImageRow.id,
        AnalysisRow.pipeline_id == pipeline_id,
        AnalysisRow.status == AnalysisStatus.COMPLETED.value,
    )


def boxes_of(slug: str) -> Exists:
    """An image with a box in a completed analysis of a version of pipeline ``slug`` (of the
    image's project)."""
    versions = select(PipelineRow.id).where(
        PipelineRow.project_id == ImageRow.project_id, PipelineRow.slug == slug
    )
    boxed = exists().where(
        AnnotationRow.analysis_id == AnalysisRow.id,
        AnnotationRow.type == AnnotationType.BOUNDING_BOX.value,
        AnnotationRow.x1.is_not(None),
    )
    return exists().where(
        AnalysisRow.image_id == ImageRow.id,
        AnalysisRow.pipeline_id.in_(versions),
        AnalysisRow.status == AnalysisStatus.COMPLETED.value,
        boxed,
    )
