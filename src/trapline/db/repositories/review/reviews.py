"""Reviews of annotations, the review queue, and the counts the web pages summarise."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, case, distinct, func, null, or_, select
from sqlalchemy.orm import Session, aliased

from trapline.db.current import RESULTS_OF, current_analyses
from trapline.db.plain import of_project
from trapline.db.repositories.ecology.choices import pipeline_terms
from trapline.db.repositories.review import review_queue
from trapline.db.run_threshold import RUN_THRESHOLD, with_run_rows
from trapline.db.tables import (
    AnalysisRow,
    AnnotationRow,
    ImageRow,
    PipelineRow,
    ReviewRow,
    UserRow,
)
from trapline.db.tracking_due import events_due
from trapline.domain.ecology.reviews import (
    ImageCounts,
    QueueItem,
    QueuePage,
    QueuePosition,
    Review,
    Verdict,
)
from trapline.domain.ecology.species import Scope
from trapline.domain.processing.results import AnnotationType, Box, made


def _to_review(row: ReviewRow, reviewer: str | None) -> Review:
    box = None
    if row.x1 is not None and row.y1 is not None and row.x2 is not None and row.y2 is not None:
        box = Box(row.x1, row.y1, row.x2, row.y2)
    return Review(
        id=row.id,
        project_id=row.project_id,
        image_id=row.image_id,
        annotation_id=row.annotation_id,
        verdict=Verdict(row.verdict),
        label=row.label,
        box=box,
        created_by=row.created_by,
        reviewer=reviewer,
        created_at=row.created_at,
    )


#: How many of a project's newest classifications the grid's label filter offers labels from.
LABEL_SAMPLE = 50_000


class ReviewRepo:
    """Reviews, and read-only summaries of annotations for people."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        project_id: int,
        image_id: int,
        annotation_id: int | None,
        verdict: Verdict,
        label: str | None,
        box: Box | None,
        created_by: int,
    ) -> Review:
        """Store a review."""
        row = ReviewRow(
            project_id=project_id,
            image_id=image_id,
            annotation_id=annotation_id,
            verdict=verdict.value,
            label=label,
            x1=box.x1 if box else None,
            y1=box.y1 if box else None,
            x2=box.x2 if box else None,
            y2=box.y2 if box else None,
            created_by=created_by,
        )
        self.session.add(row)
        self.session.flush()
        events_due(self.session, [image_id])
        return _to_review(row, None)

    def for_image(self, image_id: int) -> list[Review]:
        """An image's reviews, oldest first (the last one about an annotation counts)."""
        rows = self.session.execute(
            select(ReviewRow, UserRow.email)
            .outerjoin(UserRow, UserRow.id == ReviewRow.created_by)
            .where(ReviewRow.image_id == image_id)
            .order_by(ReviewRow.id)
        )
        return [_to_review(row, email) for row, email in rows]

    def of_image_span(self, after_id: int, last_id: int) -> list[Review]:
        """Every review of the images with ids after ``after_id`` up to ``last_id``, oldest
        first: one short range read per batch of an export (most batches have none).

        Images of other projects may fall in the span; the caller looks reviews up by its
        own images and annotations. (A condition on the project would lead the planner to
        the project's index and a scan of all its reviews.)
        """
        rows = self.session.execute(
            select(ReviewRow, UserRow.email)
            .outerjoin(UserRow, UserRow.id == ReviewRow.created_by)
            .where(ReviewRow.image_id > after_id, ReviewRow.image_id <= last_id)
        )
        return sorted((_to_review(row, email) for row, email in rows), key=lambda r: r.id)

    def annotation(self, annotation_id: int) -> tuple[int, int, str] | None:
        """(project id, image id, type) of an annotation."""
        found = self.session.execute(
            select(AnnotationRow.project_id, AnnotationRow.image_id, AnnotationRow.type).where(
                AnnotationRow.id == annotation_id
            )
        ).first()
        return (found[0], found[1], found[2]) if found else None

    def queue(
        self,
        project_id: int,
        job_id: int | None,
        limit: int,
        start: QueuePosition | None = None,
    ) -> QueuePage:
        """Detections nobody reviewed yet (nor identified or rejected their occurrence), the
        models' surest first: of the current results a page at a time from ``start``
        (``review_queue.py``), or a job's (all sorted: a job's queue costs what the job
        holds). Those that count come first (not under their run's threshold, the one
        tracking and the grid apply: ``run_threshold.py``); the specks under it last."""
        if job_id is None:
            return review_queue.walk(self.session, project_id, limit, start)
        box = aliased(AnnotationRow)
        child = aliased(AnnotationRow)
        confidence = func.coalesce(func.max(child.confidence), func.max(box.confidence))
        # What the threshold is held against: the box's own confidence, else its best
        # classification's (as tracking reads it).
        detected = func.coalesce(func.max(box.confidence), func.max(child.confidence))
        threshold = func.max(RUN_THRESHOLD)
        under = case((and_(threshold.is_not(None), detected < threshold), 1), else_=0)
        query = (
            with_run_rows(
                select(box.id, box.image_id, func.max(child.label), confidence, under).join(
                    AnalysisRow, AnalysisRow.id == box.analysis_id
                )
            )
            .outerjoin(
                child,
                (child.parent_id == box.id) & (child.type == AnnotationType.CLASSIFICATION.value),
            )
            .outerjoin(ReviewRow, ReviewRow.annotation_id == box.id)
            .where(
                box.project_id == project_id,
                box.type == AnnotationType.BOUNDING_BOX.value,
                ReviewRow.id.is_(None),
                box.id.not_in(review_queue.settled()),
            )
            .where(AnalysisRow.job_id == job_id)
            .group_by(box.id, box.image_id)
            .order_by(under.asc(), confidence.desc().nulls_last(), box.id)
            .limit(limit)
        )
        return QueuePage(
            [
                QueueItem(r[0], r[1], r[2], r[3], under_threshold=bool(r[4]))
                for r in self.session.execute(query)
            ]
        )

    def image_counts(
        self, project_id: int, image_ids: Sequence[int], counting: Scope
    ) -> dict[int, ImageCounts]:
        """Per image, in one query: the boxes of its current results of the pipeline
        ``counting`` counts on its deployment (nothing tracked: of every pipeline) the viewer
        shows (those not under their run's threshold: ``run_threshold.py``) and how many of
        them were reviewed.

        Only current results count (``current.py``); images with none are left out.
        """
        if not image_ids:
            return {}
        current = current_analyses(project_id, AnalysisRow.image_id.in_(list(image_ids)))
        box = aliased(AnnotationRow)
        child = aliased(AnnotationRow)
        # The viewer's confidence of a box: its own, else its best classification's.
        best = (
            select(func.max(child.confidence))
            .where(child.parent_id == box.id, child.type == AnnotationType.CLASSIFICATION.value)
            .correlate(box)
            .scalar_subquery()
        )
        confidence = func.coalesce(box.confidence, best)
        shown = or_(RUN_THRESHOLD.is_(None), confidence.is_(None), confidence >= RUN_THRESHOLD)
        deployment = (
            select(ImageRow.deployment_id)
            .where(ImageRow.id == AnalysisRow.image_id)
            .correlate(AnalysisRow)
            .scalar_subquery()
        )
        counted = pipeline_terms(counting, RESULTS_OF, deployment)
        shown = and_(shown, *counted)
        # What made the counted result: the pipeline and version of the photo's current one.
        maker, version = (
            (func.max(case((and_(*counted), c))) for c in (RESULTS_OF, PipelineRow.version))
            if counted
            else (null(), null())
        )
        query = (
            with_run_rows(
                select(
                    AnalysisRow.image_id,
                    func.count(distinct(box.id)),
                    func.count(distinct(ReviewRow.annotation_id)),
                    maker,
                    version,
                ).where(AnalysisRow.id.in_(current))
            )
            .outerjoin(
                box,
                and_(
                    box.analysis_id == AnalysisRow.id,
                    box.type == AnnotationType.BOUNDING_BOX.value,
                    shown,
                ),
            )
            .outerjoin(ReviewRow, ReviewRow.annotation_id == box.id)
            .group_by(AnalysisRow.image_id)
        )
        return {
            int(image_id): ImageCounts(
                int(detections), int(reviewed), made(pipeline, version) if pipeline else None
            )
            for image_id, detections, reviewed, pipeline, version in self.session.execute(query)
        }

    def newest_annotation(self, project_id: int) -> int | None:
        """The id of the project's newest annotation (one step of the index on project and
        id): it moves on with every result stored."""
        return self.session.scalar(
            select(AnnotationRow.id)
            .where(of_project(self.session, AnnotationRow.project_id, project_id))
            .order_by(AnnotationRow.project_id.desc(), AnnotationRow.id.desc())
            .limit(1)
        )

    def result_labels(self, project_id: int, limit: int) -> list[str]:
        """The labels models gave most often in a project's latest results (what the grid's
        label filter offers: it filters by them): of its newest ``LABEL_SAMPLE``
        classifications, so the cost stays that of one page whatever the project's size."""
        latest = (
            select(AnnotationRow.label)
            .where(
                of_project(self.session, AnnotationRow.project_id, project_id),
                AnnotationRow.type == AnnotationType.CLASSIFICATION.value,
                AnnotationRow.label.is_not(None),
            )
            .order_by(AnnotationRow.project_id.desc(), AnnotationRow.id.desc())
            .limit(LABEL_SAMPLE)
            .subquery()
        )
        rows = self.session.execute(
            select(latest.c.label, func.count())
            .group_by(latest.c.label)
            .order_by(func.count().desc(), latest.c.label)
            .limit(limit)
        )
        return [str(label) for label, _ in rows]
