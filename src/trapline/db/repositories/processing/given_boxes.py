"""What a job over another pipeline's boxes reads of that pipeline: the boxes of its current
result on each photo, handed to the classifying pipeline."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trapline.db.current import current_analyses
from trapline.db.tables import (
    AlgorithmRow,
    AnalysisRow,
    AnnotationRow,
    PipelineRow,
)
from trapline.domain.processing.results import AnnotationType, Box, SourceBox


class GivenBoxRepo:
    """Another pipeline's boxes, as a job over its boxes needs them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def current(
        self, project_id: int, slug: str, image_ids: Collection[int]
    ) -> dict[int, list[SourceBox]]:
        """The boxes of pipeline ``slug``'s current result on each of these images, in the
        order it gave them (an image it has no current result on is left out)."""
        if not image_ids:
            return {}
        current = current_analyses(project_id, AnalysisRow.image_id.in_(sorted(image_ids)))
        # Typed loosely: every row has its box (the query asks for x1), which mypy cannot see.
        rows: Sequence[Any] = self.session.execute(
            select(
                AnalysisRow.image_id,
                AnnotationRow.id,
                AnnotationRow.x1,
                AnnotationRow.y1,
                AnnotationRow.x2,
                AnnotationRow.y2,
                AnnotationRow.confidence,
                AlgorithmRow.name,
                AlgorithmRow.key,
            )
            .join(AnalysisRow, AnalysisRow.id == AnnotationRow.analysis_id)
            .join(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
            .outerjoin(AlgorithmRow, AlgorithmRow.id == AnnotationRow.algorithm_id)
            .where(
                AnnotationRow.analysis_id.in_(current),
                PipelineRow.slug == slug,
                AnnotationRow.type == AnnotationType.BOUNDING_BOX.value,
                AnnotationRow.x1.is_not(None),
            )
            .order_by(AnnotationRow.id)
        ).all()
        found: dict[int, list[SourceBox]] = {}
        for image_id, box_id, x1, y1, x2, y2, confidence, name, key in rows:
            box = Box(float(x1), float(y1), float(x2), float(y2))
            # A box no registered algorithm drew (none of trapline's ways of storing results
            # makes one) is named by its pipeline.
            drawn = SourceBox(
                int(image_id), box, confidence, name or slug, key or slug, int(box_id)
            )
            found.setdefault(int(image_id), []).append(drawn)
        return found
