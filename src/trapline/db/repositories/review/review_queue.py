"""The project's review queue, walked down an index instead of sorted whole.

A detection's place in the queue is the confidence it is shown with: its surest
classification's, else its box's own. The walk reads the project's scored annotations
(classifications and boxes) down ``ix_annotations_project_id_confidence``, surest first, a
batch at a time, and keeps the entries that stand for a detection still to review: a
classification that is the surest of its box, or a box with no scored classification; of a
current result; not reviewed yet, nor in an occurrence a person identified or rejected (their
word settles its boxes: ``settled``). The detections without any score come after every scored
one, newest first. A page's walk stops once it has its detections, or after ``WALK_LIMIT``
entries, and says where the next page starts: a page costs what it shows and what it passes
over (reviewed detections, older runs' results), never a sort of the whole project.

Within a page, the detections that count (not under their run's threshold, the one tracking
and the grid apply: ``db/run_threshold.py``) come first and the specks under it last. With one
threshold (one pipeline, its runs setting none of their own) that is the order of the whole
queue; with runs of different thresholds, a speck of one may come a page before a detection of
another that counts and is less sure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, aliased

from trapline.db.current import current_analyses
from trapline.db.run_threshold import RUN_THRESHOLD, with_run_rows
from trapline.db.tables import (
    AnalysisRow,
    AnnotationRow,
    OccurrenceDetectionRow,
    OccurrenceRow,
    ReviewRow,
)
from trapline.domain.ecology.reviews import QueueItem, QueuePage, QueuePosition
from trapline.domain.processing.results import AnnotationType

#: Annotations the walk reads at once.
WALK_BATCH = 500
#: Annotations a page's walk reads at most: what bounds a page's cost when most of the
#: surest detections are reviewed or of older runs.
WALK_LIMIT = 20_000

_BOX = AnnotationType.BOUNDING_BOX.value
_CLASSIFICATION = AnnotationType.CLASSIFICATION.value


@dataclass(frozen=True)
class _Entry:
    """An annotation as the walk reads it."""

    id: int
    box_id: int | None
    confidence: float | None


@dataclass(frozen=True)
class _Box:
    """What the walk knows of a detection to decide on its entries."""

    image_id: int
    analysis_id: int
    confidence: float | None
    threshold: float | None
    #: Its surest scored classification (None: it has none), and the highest label of its
    #: classifications.
    surest: tuple[int, float] | None
    label: str | None


def walk(session: Session, project_id: int, limit: int, start: QueuePosition | None) -> QueuePage:
    """Up to ``limit`` detections of the project's current results nobody reviewed, from
    ``start`` (None: the top) down the queue."""
    found: list[QueueItem] = []
    position, read = start, 0
    while len(found) < limit and read < WALK_LIMIT:
        entries = _entries(session, project_id, position, min(WALK_BATCH, WALK_LIMIT - read))
        if not entries:
            return QueuePage(_counting_first(found))
        kept = _kept(session, project_id, entries)
        for entry in entries:
            read += 1
            position = QueuePosition(entry.confidence, entry.id)
            if entry.id in kept:
                found.append(kept[entry.id])
                if len(found) == limit:
                    break
    return QueuePage(_counting_first(found), position)


def _counting_first(items: list[QueueItem]) -> list[QueueItem]:
    return [i for i in items if not i.under_threshold] + [i for i in items if i.under_threshold]


def _entries(
    session: Session, project_id: int, after: QueuePosition | None, size: int
) -> list[_Entry]:
    """The next ``size`` annotations of the walk after ``after``: scored ones surest first,
    then the boxes without a score, newest first."""
    a = AnnotationRow
    columns = (a.id, a.type, a.parent_id, a.confidence)
    rows = []
    if after is None or after.confidence is not None:
        scored = select(*columns).where(
            a.project_id == project_id,
            a.confidence.is_not(None),
            a.type.in_((_BOX, _CLASSIFICATION)),
        )
        if after is not None:
            # The range serves the index; the second term drops the ties already walked.
            scored = scored.where(
                a.confidence <= after.confidence,
                or_(a.confidence < after.confidence, a.id < after.annotation_id),
            )
        rows = list(session.execute(scored.order_by(a.confidence.desc(), a.id.desc()).limit(size)))
    if len(rows) < size:
        unscored = select(*columns).where(
            a.project_id == project_id, a.confidence.is_(None), a.type == _BOX
        )
        if after is not None and after.confidence is None:
            unscored = unscored.where(a.id < after.annotation_id)
        rows += session.execute(unscored.order_by(a.id.desc()).limit(size - len(rows)))
    return [
        _Entry(int(i), int(i) if kind == _BOX else (int(p) if p is not None else None), c)
        for i, kind, p, c in rows
    ]


def _kept(session: Session, project_id: int, entries: Sequence[_Entry]) -> dict[int, QueueItem]:
    """The entries that stand for a detection still to review, by entry id."""
    boxes = _boxes(session, {e.box_id for e in entries if e.box_id is not None})
    if not boxes:
        return {}
    reviewed = set(
        session.scalars(select(ReviewRow.annotation_id).where(ReviewRow.annotation_id.in_(boxes)))
    ) | set(session.scalars(settled(sorted(boxes))))
    images = {b.image_id for b in boxes.values()}
    ranked = current_analyses(project_id, AnalysisRow.image_id.in_(sorted(images)))
    current: set[Any] = set(session.scalars(ranked))
    kept: dict[int, QueueItem] = {}
    for entry in entries:
        if entry.box_id is None or entry.box_id not in boxes or entry.box_id in reviewed:
            continue
        box = boxes[entry.box_id]
        # A detection stands in the queue once: at its surest classification, else its box.
        placed = box.surest[0] if box.surest is not None else entry.box_id
        if box.analysis_id not in current or placed != entry.id:
            continue
        shown = box.surest[1] if box.surest is not None else box.confidence
        # What the threshold is held against: the box's own confidence, else its surest
        # classification's (as tracking reads it).
        detected = box.confidence if box.confidence is not None else shown
        under = box.threshold is not None and detected is not None and detected < box.threshold
        kept[entry.id] = QueueItem(entry.box_id, box.image_id, box.label, shown, under)
    return kept


def settled(box_ids: Sequence[int] | None = None) -> Select[int]:
    """The boxes (of these, when given) in an occurrence a person identified or rejected."""
    link = OccurrenceDetectionRow
    query = (
        select(link.annotation_id)
        .join(OccurrenceRow, OccurrenceRow.id == link.occurrence_id)
        .where(or_(OccurrenceRow.identified_by.is_not(None), OccurrenceRow.rejected.is_not(None)))
    )
    return query if box_ids is None else query.where(link.annotation_id.in_(box_ids))


def _boxes(session: Session, box_ids: set[int]) -> dict[int, _Box]:
    """These boxes with their run's threshold (``run_threshold.py``) and their
    classifications' surest one."""
    if not box_ids:
        return {}
    box = aliased(AnnotationRow)
    rows = session.execute(
        with_run_rows(
            select(box.id, box.image_id, box.analysis_id, box.confidence, RUN_THRESHOLD).join(
                AnalysisRow, AnalysisRow.id == box.analysis_id
            )
        ).where(box.id.in_(sorted(box_ids)), box.type == _BOX)
    )
    found = {int(r[0]): r for r in rows}
    surest: dict[int, tuple[int, float]] = {}
    labels: dict[int, str] = {}
    child = AnnotationRow
    for parent, child_id, confidence, label in session.execute(
        select(child.parent_id, child.id, child.confidence, child.label).where(
            and_(child.parent_id.in_(sorted(found)), child.type == _CLASSIFICATION)
        )
    ):
        if parent is None:
            continue
        box_id = int(parent)
        if label is not None and (box_id not in labels or label > labels[box_id]):
            labels[box_id] = label
        best = surest.get(box_id)
        # Surest first, then the higher id: the order the walk reads them in.
        if confidence is not None and (best is None or (confidence, child_id) > (best[1], best[0])):
            surest[box_id] = (int(child_id), float(confidence))
    return {
        box_id: _Box(
            image_id=int(r[1]),
            analysis_id=int(r[2]),
            confidence=r[3],
            threshold=r[4],
            surest=surest.get(box_id),
            label=labels.get(box_id),
        )
        for box_id, r in found.items()
    }
