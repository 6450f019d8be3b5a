"""Current results: the one definition every count, chart, filter and export reads by.

For each image and pipeline one analysis is current: the latest completed run of the newest
version of the pipeline that completed on the image, or of the version the project pinned
(``pipeline_pins``; an image without a run of the pinned version then has no current result
of that pipeline). An analysis no pipeline made (an external pipeline's, through the callback
API) counts as a run of the pipeline named by its source and model name. Older runs stay
stored: they are browsable and exportable on request (decision 039). Every capability reads
by it, so it stands below them all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from trapline.db.tables import AnalysisRow, PipelinePinRow, PipelineRow
from trapline.domain.processing.results import AnalysisStatus

#: The pipeline an analysis's results are counted as: its pipeline's slug, else (an external
#: pipeline's, through the callback API) its model's name.
RESULTS_OF: ColumnElement[str] = func.coalesce(
    PipelineRow.slug, AnalysisRow.model_name, AnalysisRow.source
)


def current_analyses(project_id: int, *image_terms: Any) -> Select[int]:
    """The ids of the project's current analyses, of the images ``image_terms`` (conditions
    on ``AnalysisRow.image_id`` only: a condition on the analyses themselves would pick the
    current one among some runs) narrow them to.

    One window over the images' completed analyses, ranked within each (image, pipeline) by
    version, then by id (the latest run); the first of each is current.
    """
    no_pipeline = AnalysisRow.pipeline_id.is_(None)
    rank = (
        func.row_number()
        .over(
            partition_by=(
                AnalysisRow.image_id,
                PipelineRow.slug,
                case((no_pipeline, AnalysisRow.source)),
                case((no_pipeline, AnalysisRow.model_name)),
            ),
            order_by=(PipelineRow.version.desc(), AnalysisRow.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(AnalysisRow.id.label("id"), rank)
        .outerjoin(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
        .outerjoin(
            PipelinePinRow,
            and_(
                PipelinePinRow.project_id == AnalysisRow.project_id,
                PipelinePinRow.slug == PipelineRow.slug,
            ),
        )
        .where(
            AnalysisRow.project_id == project_id,
            AnalysisRow.status == AnalysisStatus.COMPLETED.value,
            or_(PipelinePinRow.version.is_(None), PipelinePinRow.version == PipelineRow.version),
            *image_terms,
        )
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rank == 1)


def current_of_image(session: Session, project_id: int, image_id: int) -> frozenset[int]:
    """The ids of one image's current analyses (of the project it is in)."""
    query = current_analyses(project_id, AnalysisRow.image_id == image_id)
    return frozenset(int(i) for i in session.scalars(query))
