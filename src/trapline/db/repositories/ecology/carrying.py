"""What carrying people's work to another pipeline reads and writes: the identifications and
reviews of one pipeline's tracked detections in a deployment, the other pipeline's tracked
detections on the same photos, and copies of the first on the second
(``services/ecology/carrying.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from trapline.db.current import RESULTS_OF
from trapline.db.tables import (
    AnalysisRow,
    AnnotationRow,
    IdentificationRow,
    ImageRow,
    OccurrenceDetectionRow,
    OccurrenceRow,
    PipelineRow,
    ReviewRow,
)
from trapline.db.types import chunks
from trapline.domain.ecology.succession import Placed

#: The columns of an identification its copy repeats (all but its id, detection and occurrence).
_NAMED = (
    IdentificationRow.project_id,
    IdentificationRow.taxon_id,
    IdentificationRow.rejected,
    IdentificationRow.agreed_with,
    IdentificationRow.comment,
    IdentificationRow.user_id,
    IdentificationRow.created_at,
)
#: Those of a review.
_JUDGED = (
    ReviewRow.project_id,
    ReviewRow.image_id,
    ReviewRow.verdict,
    ReviewRow.label,
    ReviewRow.x1,
    ReviewRow.y1,
    ReviewRow.x2,
    ReviewRow.y2,
    ReviewRow.created_by,
    ReviewRow.created_at,
)


@dataclass(frozen=True)
class Tracked:
    """One pipeline's tracked detections in a deployment: where each is, and its occurrence."""

    placed: list[Placed]
    occurrence_of: dict[int, int]


class CarryRepo:
    """Reads and copies for carrying people's work between two pipelines' individuals."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def tracked(
        self, deployment_id: int, pipeline: str, image_ids: Sequence[int] | None = None
    ) -> Tracked:
        """The detections the pipeline's occurrences hold in the deployment (on these photos
        when given), each placed under one key (""), so that two pipelines' boxes pair."""
        o, od, a = OccurrenceRow, OccurrenceDetectionRow, AnnotationRow
        query = (
            select(a.id, a.image_id, a.x1, a.y1, a.x2, a.y2, od.occurrence_id)
            .join(od, od.annotation_id == a.id)
            .join(o, o.id == od.occurrence_id)
            .where(o.deployment_id == deployment_id, o.pipeline == pipeline)
        )
        rows: list[Any] = []
        if image_ids is None:
            rows = list(self.session.execute(query))
        else:
            for part in chunks(sorted(set(image_ids))):
                rows += self.session.execute(query.where(od.image_id.in_(part)))
        placed = [
            Placed(int(i), int(image), "", (x1 or 0.0, y1 or 0.0, x2 or 0.0, y2 or 0.0))
            for i, image, x1, y1, x2, y2, _ in rows
        ]
        return Tracked(placed, {int(i): int(held) for i, *_, held in rows})

    def identifications(self, annotation_ids: Sequence[int]) -> list[Any]:
        """The identifications not withdrawn on these detections, oldest first (id,
        detection, and the columns a copy repeats)."""
        found: list[Any] = []
        for part in chunks(sorted(set(annotation_ids))):
            found += self.session.execute(
                select(IdentificationRow.id, IdentificationRow.annotation_id, *_NAMED).where(
                    IdentificationRow.annotation_id.in_(part), ~IdentificationRow.withdrawn
                )
            )
        return sorted(found, key=lambda row: int(row.id))

    def newest_named(self, occurrence_ids: Sequence[int]) -> dict[int, datetime]:
        """When each of these occurrences was last identified (those never are left out)."""
        i, od = IdentificationRow, OccurrenceDetectionRow
        found: dict[int, datetime] = {}
        for part in chunks(sorted(set(occurrence_ids))):
            rows = self.session.execute(
                select(od.occurrence_id, func.max(i.created_at))
                .join(i, i.annotation_id == od.annotation_id)
                .where(od.occurrence_id.in_(part), ~i.withdrawn)
                .group_by(od.occurrence_id)
            )
            found |= {int(o): when for o, when in rows}
        return found

    def name(self, row: Any, annotation_id: int) -> None:
        """Copy an identification (a row of ``identifications``) onto a detection."""
        values = {column.key: getattr(row, column.key) for column in _NAMED}
        self.session.execute(
            insert(IdentificationRow).values(
                **values, annotation_id=annotation_id, occurrence_id=None
            )
        )

    def publish(self, deployment_id: int, pipeline: str, heirs: dict[int, int]) -> None:
        """The pipeline's individuals in the deployment publish their own ids, but each heir
        (its id -> the old individual it continues) the id that individual published. An id
        that one of them publishes as its own is left to it."""
        o = OccurrenceRow
        published = func.coalesce(o.published_id, o.id)
        was: dict[int, int] = {}
        for part in chunks(sorted(set(heirs.values()))):
            was |= {int(i): int(p) for i, p in self.session.execute(
                select(o.id, published).where(o.id.in_(part))
            )}  # fmt: skip
        mine = select(o.id).where(o.deployment_id == deployment_id, o.pipeline == pipeline)
        self.session.execute(
            update(o).where(o.id.in_(mine), o.published_id.is_not(None)).values(published_id=None)
        )
        own = set(self.session.scalars(mine))
        taken = {heir: was[old] for heir, old in heirs.items() if old in was}
        rows = [
            {"heir": heir, "published": p}
            for heir, p in sorted(taken.items())
            if p != heir and (p not in own or p in heirs)
        ]
        if rows:
            table = cast(Table, OccurrenceRow.__table__)  # by id, many rows: Core's executemany
            self.session.execute(
                update(table)
                .where(table.c.id == bindparam("heir"))
                .values(published_id=bindparam("published")),
                rows,
            )

    def reviews(self, annotation_ids: Sequence[int]) -> dict[int, Any]:
        """The latest review of each of these detections (those never reviewed are left
        out): its detection and the columns a copy repeats."""
        latest: dict[int, Any] = {}
        for part in chunks(sorted(set(annotation_ids))):
            rows = self.session.execute(
                select(ReviewRow.id, ReviewRow.annotation_id, *_JUDGED)
                .where(ReviewRow.annotation_id.in_(part))
                .order_by(ReviewRow.id)
            )
            latest |= {int(row.annotation_id): row for row in rows}
        return latest

    def reviewed(self, deployment_id: int, pipeline: str) -> tuple[dict[int, Any], list[Placed]]:
        """The latest review of each box of the pipeline's results on the deployment's photos
        that a person reviewed, tracked or not (a false detection is in no occurrence), with
        where each box is."""
        a = AnnotationRow
        rows = self.session.execute(
            select(a.id, a.image_id, a.x1, a.y1, a.x2, a.y2)
            .join(AnalysisRow, AnalysisRow.id == a.analysis_id)
            .outerjoin(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
            .join(ImageRow, ImageRow.id == a.image_id)
            .where(
                ImageRow.deployment_id == deployment_id,
                RESULTS_OF.in_([pipeline]),
                select(ReviewRow.id).where(ReviewRow.annotation_id == a.id).exists(),
            )
        ).all()
        placed = [
            Placed(int(i), int(image), "", (x1 or 0.0, y1 or 0.0, x2 or 0.0, y2 or 0.0))
            for i, image, x1, y1, x2, y2 in rows
        ]
        return self.reviews([p.id for p in placed]), placed

    def judge(self, row: Any, annotation_id: int) -> None:
        """Copy a review (a row of ``reviews``) onto a detection."""
        values = {column.key: getattr(row, column.key) for column in _JUDGED}
        self.session.execute(insert(ReviewRow).values(**values, annotation_id=annotation_id))
