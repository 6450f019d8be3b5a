"""The images a job selects, as statements: the project's, narrowed by a collection, a list of
ids and a filter (``db/image_filters.py``, as the grid filters); whether its pipeline version
analysed an image already; whether another pipeline found boxes on it (a job over that
pipeline's boxes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Exists, Select, distinct, exists, func, select
from sqlalchemy.orm import Session

from trapline.db.image_filters import PHOTOS, by_results, filtered, walk
from trapline.db.photo_findings import findings_kept
from trapline.db.tables import AnalysisRow, AnnotationRow, ImageRow, PipelineRow, ProjectRow
from trapline.domain.core.records import ImageFilter
from trapline.domain.processing.results import AnalysisStatus, AnnotationType


def selected(
    session: Session,
    images: Select[*tuple[Any, ...]],
    project_id: int,
    flt: ImageFilter,
    collection_id: int | None,
    image_ids: Sequence[int] | None,
) -> Select[*tuple[Any, ...]]:
    """``images`` narrowed to the images a job selects: the project's, of an explicit
    collection, a list of ids and a filter, read as the grid reads the filter (so a job over
    the grid's filter takes the photos the grid showed)."""
    walked = PHOTOS
    if by_results(flt):
        walked = walk(project_id, flt, kept=findings_kept(session, project_id))
    images = filtered(images, project_id, flt, collection_id, walked)
    if image_ids is not None:
        images = images.where(ImageRow.id.in_(list(image_ids)))
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


def _whole_project(
    flt: ImageFilter, collection_id: int | None, image_ids: Sequence[int] | None
) -> bool:
    """Whether a selection names every photo of its project."""
    return flt == ImageFilter() and collection_id is None and image_ids is None


class SelectionRepo:
    """How many images a job's selection takes, and of them how many it would skip."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def analysed(
        self,
        project_id: int,
        pipeline_id: int,
        flt: ImageFilter,
        *,
        collection_id: int | None,
        image_ids: Sequence[int] | None,
    ) -> int:
        """How many of the images a job would select this pipeline version already analysed:
        what a job skips unless it reprocesses; the whole project's from the version's analyses
        (one range of ``ix_analyses_pipeline_project``), not photo by photo."""
        if _whole_project(flt, collection_id, image_ids):
            photos = select(func.count(distinct(AnalysisRow.image_id))).where(
                AnalysisRow.pipeline_id == pipeline_id,
                AnalysisRow.project_id == project_id,
                AnalysisRow.status == AnalysisStatus.COMPLETED.value,
            )
            return int(self.session.scalar(photos) or 0)
        counted = self._count(project_id, flt, collection_id, image_ids)
        return int(self.session.scalar(counted.where(analysed_by(pipeline_id))) or 0)

    def boxed(
        self,
        project_id: int,
        slug: str,
        flt: ImageFilter,
        *,
        collection_id: int | None,
        image_ids: Sequence[int] | None,
    ) -> int:
        """How many of the images a job would select pipeline ``slug`` found boxes on."""
        counted = self._count(project_id, flt, collection_id, image_ids)
        return int(self.session.scalar(counted.where(boxes_of(slug))) or 0)

    def count(
        self,
        project_id: int,
        flt: ImageFilter,
        *,
        collection_id: int | None,
        image_ids: Sequence[int] | None,
    ) -> int:
        """How many images a job would select (``TaskRepo.enqueue``'s selection) before any
        are skipped; the whole project's from its counter."""
        if _whole_project(flt, collection_id, image_ids):
            whole = select(ProjectRow.image_count).where(ProjectRow.id == project_id)
            return int(self.session.scalar(whole) or 0)
        counted = self._count(project_id, flt, collection_id, image_ids)
        return int(self.session.scalar(counted) or 0)

    def _count(
        self,
        project_id: int,
        flt: ImageFilter,
        collection_id: int | None,
        image_ids: Sequence[int] | None,
    ) -> Select[tuple[int]]:
        counted = select(func.count())
        return selected(self.session, counted, project_id, flt, collection_id, image_ids)
