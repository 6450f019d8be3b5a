"""Analyses and annotations: what pipelines found in images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from trapline.db.ids import reserve_ids
from trapline.db.photo_findings import findings_due
from trapline.db.plain import Plain, of_project
from trapline.db.tables import AnalysisRow, AnnotationRow, ImageRow, PipelineRow
from trapline.db.tracking_due import events_due
from trapline.db.types import affected, count_up_to
from trapline.domain.core.paging import Cursor
from trapline.domain.processing.results import (
    Analysis,
    AnalysisDraft,
    AnalysisStatus,
    Annotation,
    AnnotationDraft,
    AnnotationFilter,
    AnnotationType,
    Box,
)

#: Source of analyses an external pipeline drives through the callback API.
CALLBACK_SOURCE = "callback"
#: The tables themselves, for reserving ids.
_ANALYSES = cast(Table, AnalysisRow.__table__)
_ANNOTATIONS = cast(Table, AnnotationRow.__table__)
#: Columns of the plain bulk inserts, in the order of their rows.
_ANALYSIS_COLUMNS = (
    "id", "project_id", "image_id", "job_id", "task_id", "pipeline_id", "source", "status",
    "worker", "total_time", "note", "created_at", "completed_at",
)  # fmt: skip
_ANNOTATION_COLUMNS = (
    "id", "analysis_id", "project_id", "image_id", "type", "label", "confidence",
    "x1", "y1", "x2", "y2", "data", "parent_id", "algorithm_id", "ordering", "storage_key",
    "digest", "features",
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
        storage_key=row.storage_key,
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
                 d.worker, d.total_time, d.note, stamp, stamp)
                for d, aid in zip(drafts, analysis_ids, strict=True)
            ],
        )  # fmt: skip
        # Every annotation of the batch, parents before their children, in one insert.
        _insert_annotations(
            plain,
            project_id,
            [(aid, d.image_id, d.annotations) for d, aid in zip(drafts, analysis_ids, strict=True)],
            annotation_ids,
        )
        photos = [d.image_id for d in drafts]
        events_due(self.session, photos)
        findings_due(self.session, photos)
        return analysis_ids

    def create(
        self,
        *,
        project_id: int,
        image_id: int,
        model_name: str,
        model_version: str,
        parameters: dict[str, Any],
        provenance: dict[str, Any],
        requested_by_id: int,
        now: datetime,
    ) -> int:
        """A queued analysis an external pipeline drives (source ``callback``)."""
        row = AnalysisRow(
            project_id=project_id,
            image_id=image_id,
            source=CALLBACK_SOURCE,
            status=AnalysisStatus.QUEUED.value,
            model_name=model_name,
            model_version=model_version,
            parameters=parameters,
            provenance=provenance,
            requested_by_id=requested_by_id,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def count_for_image(self, image_id: int, source: str) -> int:
        """How many analyses of ``source`` an image has."""
        query = select(func.count()).where(
            AnalysisRow.image_id == image_id, AnalysisRow.source == source
        )
        return self.session.scalar(query) or 0

    def get(self, analysis_id: int, *, lock: bool = False) -> Analysis | None:
        """One analysis without its annotations; ``lock``: held until the transaction ends
        (PostgreSQL; SQLite's writer already holds the database), so writers of one analysis
        take turns."""
        query = (
            select(AnalysisRow, PipelineRow.slug, PipelineRow.version)
            .outerjoin(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
            .where(AnalysisRow.id == analysis_id)
        )
        if lock:
            query = query.with_for_update(of=AnalysisRow)
        found = self.session.execute(query).first()
        return _analysis(*found) if found else None

    def with_annotations(self, analysis_id: int) -> Analysis | None:
        """One analysis with its annotations."""
        analysis = self.get(analysis_id)
        if analysis is None:
            return None
        rows = self.session.scalars(
            select(AnnotationRow)
            .where(AnnotationRow.analysis_id == analysis_id)
            .order_by(AnnotationRow.id)
        )
        return replace(analysis, annotations=[to_annotation(r) for r in rows])

    def set_status(
        self,
        analysis_id: int,
        status: AnalysisStatus,
        *,
        error: str | None,
        now: datetime,
        allowed_from: Sequence[AnalysisStatus],
    ) -> bool:
        """Move the analysis to ``status`` if it is in one of ``allowed_from`` (a guarded
        single statement: a late writer never revives a finished analysis)."""
        done = status in (AnalysisStatus.COMPLETED, AnalysisStatus.FAILED)
        result = self.session.execute(
            update(AnalysisRow)
            .where(
                AnalysisRow.id == analysis_id,
                AnalysisRow.status.in_([s.value for s in allowed_from]),
            )
            .values(
                status=status.value,
                error=error,
                updated_at=now,
                completed_at=now if done else None,
            )
        )
        changed = affected(result) == 1
        if changed and status is AnalysisStatus.COMPLETED:
            self._results_changed(analysis_id)
        return changed

    def digests(self, analysis_id: int) -> set[str]:
        """Digests of the analysis's deduplicated annotations."""
        query = select(AnnotationRow.digest).where(
            AnnotationRow.analysis_id == analysis_id, AnnotationRow.digest.is_not(None)
        )
        return {d for d in self.session.scalars(query) if d is not None}

    def clear_annotations(self, analysis_id: int) -> None:
        """Remove every annotation of the analysis."""
        self.session.execute(delete(AnnotationRow).where(AnnotationRow.analysis_id == analysis_id))
        self._results_changed(analysis_id)

    def _results_changed(self, analysis_id: int) -> None:
        """What the analysis's photo's current results hold may have changed."""
        photo = self.session.scalars(
            select(AnalysisRow.image_id).where(AnalysisRow.id == analysis_id)
        ).all()
        events_due(self.session, photo)
        findings_due(self.session, photo)

    def add_annotations(self, analysis: Analysis, drafts: Sequence[AnnotationDraft]) -> list[int]:
        """Add top-level annotations (with their children) to a stored analysis; the ids of
        the top-level ones, in order."""
        if not drafts or analysis.project_id is None:
            return []
        plain = Plain(self.session)
        (ids,) = reserve_ids(self.session, (_ANNOTATIONS, sum(_size(a) for a in drafts)))
        _insert_annotations(
            plain, analysis.project_id, [(analysis.id, analysis.image_id, drafts)], ids
        )
        events_due(self.session, [analysis.image_id])
        findings_due(self.session, [analysis.image_id])
        tops, n = [], 0
        for draft in drafts:
            tops.append(ids[n])
            n += _size(draft)
        return tops

    def annotations_by_id(self, ids: Sequence[int]) -> list[Annotation]:
        """Annotations by id, in the order asked."""
        if not ids:
            return []
        rows = {
            r.id: r
            for r in self.session.scalars(select(AnnotationRow).where(AnnotationRow.id.in_(ids)))
        }
        return [to_annotation(rows[i]) for i in ids if i in rows]

    def annotations_by_digest(
        self, analysis_id: int, digests: Sequence[str]
    ) -> dict[str, Annotation]:
        """The analysis's annotations with these digests."""
        if not digests:
            return {}
        rows = self.session.scalars(
            select(AnnotationRow).where(
                AnnotationRow.analysis_id == analysis_id, AnnotationRow.digest.in_(set(digests))
            )
        )
        return {r.digest: to_annotation(r) for r in rows if r.digest is not None}

    def count_annotations(self, analysis_id: int) -> int:
        """How many annotations the analysis holds (children included)."""
        query = select(func.count()).where(AnnotationRow.analysis_id == analysis_id)
        return self.session.scalar(query) or 0

    def fail_stale(self, before: datetime, reason: str, now: datetime) -> list[int]:
        """Fail callback analyses left queued or processing since before ``before``."""
        open_ = (AnalysisStatus.QUEUED.value, AnalysisStatus.PROCESSING.value)
        result = self.session.execute(
            update(AnalysisRow)
            .where(
                AnalysisRow.status.in_(open_),
                AnalysisRow.updated_at < before,
                AnalysisRow.source == CALLBACK_SOURCE,
            )
            .values(
                status=AnalysisStatus.FAILED.value, error=reason, updated_at=now, completed_at=now
            )
            .returning(AnalysisRow.id)
        )
        return [row[0] for row in result]

    def for_image_ids(self, image_id: int) -> list[Analysis]:
        """An image's analyses without their annotations, oldest first."""
        rows = self.session.execute(
            select(AnalysisRow, PipelineRow.slug, PipelineRow.version)
            .outerjoin(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
            .where(AnalysisRow.image_id == image_id)
            .order_by(AnalysisRow.id)
        ).all()
        return [_analysis(*row) for row in rows]

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
            replace(_analysis(a, slug, version), annotations=annotations.get(a.id, []))
            for a, slug, version in rows
        ]

    def list_annotations(
        self,
        project_id: int,
        flt: AnnotationFilter,
        *,
        limit: int,
        offset: int,
        cursor: Cursor | None = None,
    ) -> tuple[int | None, list[Annotation], bool]:
        """A project's annotations matching the filter, by id: how many match (None: more
        than ``paging.COUNTED_UP_TO``, which are not counted), the page, and whether more follow in
        the walking direction. With a cursor the page starts next to its annotation (before
        it, for a backwards one), one index seek at any depth."""
        mine = of_project(self.session, AnnotationRow.project_id, project_id)
        query = select(AnnotationRow).where(mine)
        if flt.type is not None:
            query = query.where(AnnotationRow.type == flt.type.value)
        if flt.label is not None:
            query = query.where(AnnotationRow.label == flt.label)
        if flt.min_confidence is not None:
            query = query.where(AnnotationRow.confidence >= flt.min_confidence)
        if flt.model_name is not None:
            query = query.where(
                AnnotationRow.analysis_id.in_(
                    select(AnalysisRow.id).where(
                        AnalysisRow.project_id == project_id,
                        AnalysisRow.model_name == flt.model_name,
                    )
                )
            )
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
        total = count_up_to(self.session, query.with_only_columns(AnnotationRow.id))
        key = AnnotationRow.id
        backwards = cursor is not None and cursor.backwards
        if cursor is not None:
            query = query.where(key < cursor.id if backwards else key > cursor.id)
        # In order of (project, id), the index's: the same order, one project's ids.
        order = (AnnotationRow.project_id, key)
        ordered = query.order_by(*(c.desc() for c in order) if backwards else order)
        rows = list(self.session.scalars(ordered.limit(limit + 1).offset(offset)))
        found = [to_annotation(r) for r in rows[:limit]]
        if backwards:
            found.reverse()
        return total, found, len(rows) > limit


def _analysis(a: AnalysisRow, slug: str | None, version: int | None) -> Analysis:
    return Analysis(
        id=a.id,
        image_id=a.image_id,
        job_id=a.job_id,
        pipeline_id=a.pipeline_id,
        pipeline_slug=slug,
        pipeline_version=version,
        source=a.source,
        status=AnalysisStatus(a.status),
        error=a.error,
        note=a.note,
        total_time=a.total_time,
        created_at=a.created_at,
        completed_at=a.completed_at,
        model_name=a.model_name,
        model_version=a.model_version,
        parameters=a.parameters,
        provenance=a.provenance,
        requested_by_id=a.requested_by_id,
        project_id=a.project_id,
        updated_at=a.updated_at,
    )


def _insert_annotations(
    plain: Plain,
    project_id: int,
    groups: Sequence[tuple[int, int, Sequence[AnnotationDraft]]],
    annotation_ids: Sequence[int],
) -> None:
    """Insert the annotations of (analysis id, image id, drafts) groups in one statement,
    parents before their children, numbered from ``annotation_ids``."""
    ids = iter(annotation_ids)
    rows = []

    def add(a: AnnotationDraft, aid: int, iid: int, parent: int | None, n: int) -> None:
        new_id = next(ids)
        box = a.box
        x1, y1, x2, y2 = (box.x1, box.y1, box.x2, box.y2) if box else (None,) * 4
        order = n if a.ordering is None else a.ordering
        rows.append(
            (new_id, aid, project_id, iid, a.type.value, a.label, a.confidence,
             x1, y1, x2, y2, plain.json(a.data), parent, a.algorithm_id, order, a.storage_key,
             a.digest, a.features)
        )  # fmt: skip
        for k, child in enumerate(a.children):
            add(child, aid, iid, new_id, k)

    for analysis_id, image_id, drafts in groups:
        for n, a in enumerate(drafts):
            add(a, analysis_id, image_id, None, n)
    plain.insert(_ANNOTATIONS, _ANNOTATION_COLUMNS, rows)


def _size(annotation: AnnotationDraft) -> int:
    """The annotation and everything under it."""
    return 1 + sum(_size(child) for child in annotation.children)
