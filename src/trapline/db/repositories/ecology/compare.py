"""What comparing two pipelines (or two versions of one) on a deployment reads: each one's boxes
on the photos it ran on, named as counting names them (``services/ecology/compare.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from trapline.db.current import RESULTS_OF, current_analyses
from trapline.db.repositories.ecology.tracking import TrackingRepo
from trapline.db.tables import AnalysisRow, AnnotationRow, ImageRow, PipelineRow
from trapline.domain.ecology.compare import Boxed, Side
from trapline.domain.processing.results import AnalysisStatus, AnnotationType


class CompareRepo:
    """Two sides' boxes on a deployment's photos."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def both(self, deployment_id: int, a: Side, b: Side, limit: int) -> list[int]:
        """The first ``limit`` photos of the deployment (by id) both sides have a result on."""
        ran_a, ran_b = (self._ran(deployment_id, side) for side in (a, b))
        return [
            int(i)
            for i in self.session.scalars(
                select(ran_a.c.image_id)
                .where(ran_a.c.image_id.in_(select(ran_b.c.image_id)))
                .distinct()
                .order_by(ran_a.c.image_id)
                .limit(limit)
            )
        ]

    def _ran(self, deployment_id: int, side: Side) -> Any:
        analyses = self._analyses(deployment_id, side)
        return (
            select(AnalysisRow.image_id).where(AnalysisRow.id.in_(analyses.scalar_subquery()))
        ).subquery()

    def boxes(self, deployment_id: int, side: Side, image_ids: list[int]) -> list[Boxed]:
        """The side's boxes on these photos, each named as counting names it."""
        if not image_ids:
            return []
        analyses = self._analyses(deployment_id, side, image_ids)
        a = AnnotationRow
        rows = self.session.execute(
            select(a.id, a.image_id, a.x1, a.y1, a.x2, a.y2, a.label, a.confidence)
            .where(
                a.analysis_id.in_(analyses.scalar_subquery()),
                a.type == AnnotationType.BOUNDING_BOX.value,
                a.x1.is_not(None),
            )
            .order_by(a.image_id, a.id)
        ).all()
        names = TrackingRepo(self.session).names([(int(r[0]), r[6], r[7]) for r in rows])
        return [
            Boxed(int(i), int(image), (x1 or 0.0, y1 or 0.0, x2 or 0.0, y2 or 0.0), *names[int(i)])
            for i, image, x1, y1, x2, y2, _, _ in rows
        ]

    def _analyses(
        self, deployment_id: int, side: Side, image_ids: list[int] | None = None
    ) -> Select[Any]:
        """The ids of the analyses that stand for the side on the deployment's photos: its
        current results (no version named), else each photo's latest run of that version."""
        on_photos = AnalysisRow.image_id.in_(
            select(ImageRow.id).where(ImageRow.deployment_id == deployment_id)
            if image_ids is None
            else image_ids
        )
        if side.version is None:
            current = current_analyses(side.project_id, on_photos)
            return (
                select(AnalysisRow.id)
                .outerjoin(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
                .where(AnalysisRow.id.in_(current), RESULTS_OF.in_([side.pipeline]))
            )
        return (
            select(func.max(AnalysisRow.id).label("id"))
            .join(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
            .where(
                on_photos,
                AnalysisRow.project_id == side.project_id,
                AnalysisRow.status == AnalysisStatus.COMPLETED.value,
                PipelineRow.slug == side.pipeline,
                PipelineRow.version == side.version,
            )
            .group_by(AnalysisRow.image_id)
        )
