"""Analyses and annotations: what pipelines found in images."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from trapline.db.ids import reserve_ids
from trapline.db.plain import Plain
from trapline.db.tables import AnalysisRow, AnnotationRow, ImageRow, PipelineRow
from trapline.domain.results import (
    Analysis,
    AnalysisDraft,
    AnalysisStatus,
    Annotation,
    AnnotationDraft,
    AnnotationFilter,
    AnnotationType,
    Box,
)

#: The tables themselves, for reserving ids.
_ANALYSES = cast(Table, AnalysisRow.__table__)
_ANNOTATIONS = cast(Table, AnnotationRow.__table__)
#: Columns of the plain bulk inserts, in the order of their rows.
_ANALYSIS_COLUMNS = (
    "id", "project_id", "image_id", "job_id", "task_id", "pipeline_id", "source", "status",
    "worker", "total_time", "created_at", "completed_at",
)  # fmt: skip
_ANNOTATION_COLUMNS = (
    "id", "analysis_id", "project_id", "image_id", "type", "label", "confidence",
    "x1", "y1", "x2", "y2", "data", "parent_id", "algorithm_id", "ordering",
)  # fmt: skip


def to_annotation(row: AnnotationRow) -> Annotation:
    """Record from a row."""
    has_box = row.x1 is not None
    return Annotation(
        id=row.id,
        analysis_id=row.analysis_id,
        image_id=row.image_id,
        type=AnnotationType(row.type),
        label=row.label,
        confidence=row.confidence,
        box=Box(row.x1, row.y1, row.x2, row.y2) if has_box else None,  # type: ignore[arg-type]
        data=row.data,
        parent_id=row.parent_id,
        algorithm_id=row.algorithm_id,
        ordering=row.ordering,
    )


class AnalysisRepo:
    """Analyses of images and their annotations."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def store(
        self,
        drafts: Sequence[AnalysisDraft],
        *,
        project_id: int,
        job_id: int | None,
        pipeline_id: int | None,
        source: str,
        now: datetime,
    ) -> list[int]:
        """Store completed analyses with their annotations in a few bulk statements."""
        if not drafts:
            return []
        # Ids are reserved up front so each table takes one plain insert, children pointing
        # at parents inserted in the same statement.
        plain = Plain(self.session)
        count = sum(_size(a) for d in drafts for a in d.annotations)
        analysis_ids, annotation_ids = reserve_ids(
            self.session, (_ANALYSES, len(drafts)), (_ANNOTATIONS, count)
        )
        stamp = plain.time(now)
        completed = AnalysisStatus.COMPLETED.value
        plain.insert(
            _ANALYSES,
            _ANALYSIS_COLUMNS,
            [
                (aid, project_id, d.image_id, job_id, d.task_id, pipeline_id, source, completed,
                 d.worker, d.total_time, stamp, stamp)
                for d, aid in zip(drafts, analysis_ids, strict=True)
            ],
        )  # fmt: skip
        # Every annotation of the batch, parents before their children, in one insert.
        ids = iter(annotation_ids)
        rows = []

        def add(a: AnnotationDraft, aid: int, iid: int, parent: int | None, n: int) -> None:
            new_id = next(ids)
            box = a.box
            x1, y1, x2, y2 = (box.x1, box.y1, box.x2, box.y2) if box else (None,) * 4
            rows.append(
                (new_id, aid, project_id, iid, a.type.value, a.label, a.confidence,
                 x1, y1, x2, y2, plain.json(a.data), parent, a.algorithm_id, n)
            )  # fmt: skip
            for k, child in enumerate(a.children):
                add(child, aid, iid, new_id, k)

        for d, analysis_id in zip(drafts, analysis_ids, strict=True):
            for n, a in enumerate(d.annotations):
                add(a, analysis_id, d.image_id, None, n)
        plain.insert(_ANNOTATIONS, _ANNOTATION_COLUMNS, rows)
        return analysis_ids

    def for_image(self, image_id: int) -> list[Analysis]:
        """An image's analyses, oldest first, each with its annotations."""
        rows = self.session.execute(
            select(AnalysisRow, PipelineRow.slug, PipelineRow.version)
            .outerjoin(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
            .where(AnalysisRow.image_id == image_id)
            .order_by(AnalysisRow.id)
        ).all()
        annotations: dict[int, list[Annotation]] = {}
        for row in self.session.scalars(
            select(AnnotationRow)
            .where(AnnotationRow.image_id == image_id)
            .order_by(AnnotationRow.analysis_id, AnnotationRow.id)
        ):
            annotations.setdefault(row.analysis_id, []).append(to_annotation(row))
        return [
            Analysis(
                id=a.id,
                image_id=a.image_id,
                job_id=a.job_id,
                pipeline_id=a.pipeline_id,
                pipeline_slug=slug,
                pipeline_version=version,
                source=a.source,
                status=AnalysisStatus(a.status),
                error=a.error,
                total_time=a.total_time,
                created_at=a.created_at,
                completed_at=a.completed_at,
                annotations=annotations.get(a.id, []),
            )
            for a, slug, version in rows
        ]

    def list_annotations(
        self, project_id: int, flt: AnnotationFilter, *, limit: int, offset: int
    ) -> tuple[int, list[Annotation]]:
        """A project's annotations matching the filter, by id."""
        query = select(AnnotationRow).where(AnnotationRow.project_id == project_id)
        if flt.type is not None:
            query = query.where(AnnotationRow.type == flt.type.value)
        if flt.label is not None:
            query = query.where(AnnotationRow.label == flt.label)
        if flt.min_confidence is not None:
            query = query.where(AnnotationRow.confidence >= flt.min_confidence)
        if flt.job_id is not None:
            query = query.where(
                AnnotationRow.analysis_id.in_(
                    select(AnalysisRow.id).where(AnalysisRow.job_id == flt.job_id)
                )
            )
        if flt.deployment_id is not None or flt.captured_after or flt.captured_before:
            images = select(ImageRow.id).where(ImageRow.project_id == project_id)
            if flt.deployment_id is not None:
                images = images.where(ImageRow.deployment_id == flt.deployment_id)
            if flt.captured_after is not None:
                images = images.where(ImageRow.captured_at >= flt.captured_after)
            if flt.captured_before is not None:
                images = images.where(ImageRow.captured_at < flt.captured_before)
            query = query.where(AnnotationRow.image_id.in_(images))
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.scalars(query.order_by(AnnotationRow.id).limit(limit).offset(offset))
        return total, [to_annotation(r) for r in rows]


def _size(annotation: AnnotationDraft) -> int:
    """The annotation and everything under it."""
    return 1 + sum(_size(child) for child in annotation.children)
