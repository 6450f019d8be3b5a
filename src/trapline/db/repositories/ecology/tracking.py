"""What tracking reads: which events are due, and an event's photos and detections.

An event is due while its ``tracking_version`` is ahead of its ``tracked_version``: every
change to its photos' current results or reviews raises the first (``db/tracking_due.py``,
called by the repositories that make those changes), and a tracking writes the version it read
into the second (``OccurrenceRepo.replace``), so a change made while it ran leaves the event
due again.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from trapline.db.current import RESULTS_OF, current_analyses
from trapline.db.repositories.ecology.carried_reviews import counted_reviews
from trapline.db.repositories.ecology.occurrences import BOX_COLUMNS
from trapline.db.repositories.taxa.identification_marks import marks
from trapline.db.repositories.taxa.taxa import TaxaRepo
from trapline.db.run_threshold import RUN_THRESHOLD, with_run_rows
from trapline.db.tables import (
    AnalysisRow,
    AnnotationRow,
    EventRow,
    IdentificationRow,
    ImageEventRow,
    ImageRow,
    OccurrenceDetectionRow,
    OccurrenceRow,
    PipelineRow,
    TaskRow,
)
from trapline.db.types import chunks
from trapline.domain.core.retry import RetryPolicy
from trapline.domain.ecology.events import Event
from trapline.domain.ecology.naming import Said, name_box
from trapline.domain.ecology.occurrences import Detection
from trapline.domain.ecology.succession import Placed
from trapline.domain.processing.features import unpacked
from trapline.domain.processing.jobs import TaskStatus
from trapline.domain.processing.results import AnnotationType
from trapline.domain.taxa.taxa import IdentificationMark

#: Characters of a tracking's error kept on its event.
ERROR_CHARS = 500
#: Annotations whose JSON is read at once where it may hold feature vectors.
FEATURE_ROWS = 64


@dataclass(frozen=True)
class Photo:
    """A photo of an event as tracking reads it."""

    id: int
    width: int
    height: int
    storage_key: str


class TrackingRepo:
    """The tracking state of events and what tracking reads of one."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def due(
        self, limit: int, queued_since: datetime, now: datetime | None = None
    ) -> list[tuple[int, int]]:
        """Up to ``limit`` events due for tracking whose photos no job is still working on
        (a task of them leased, or queued since ``queued_since``) and that wait out no backoff
        at ``now`` (by default: whatever their backoff), those tried least first: (event id,
        the tracking version read)."""
        open_task = exists().where(
            TaskRow.image_id == ImageEventRow.image_id,
            (TaskRow.status == TaskStatus.LEASED.value)
            | ((TaskRow.status == TaskStatus.QUEUED.value) & (TaskRow.updated_at >= queued_since)),
        )
        busy = exists().where(ImageEventRow.event_id == EventRow.id, open_task)
        where = [EventRow.tracking_version > EventRow.tracked_version, ~busy]
        if now is not None:
            retry_at = EventRow.tracking_retry_at
            where.append(retry_at.is_(None) | (retry_at <= now))
        rows = self.session.execute(
            select(EventRow.id, EventRow.tracking_version)
            .where(*where)
            # Events whose tracking failed come after the others: they never take a run's
            # every place while events that can be tracked wait.
            .order_by(EventRow.tracking_attempts, EventRow.id)
            .limit(limit)
        )
        return [(int(event_id), int(version)) for event_id, version in rows]

    def begin(self, event_id: int, now: datetime, retry: RetryPolicy) -> None:
        """A tracking of the event begins: until one stores its occurrences, the event waits
        out a backoff, so one that fails, or whose server dies in it, is not taken again at
        once (by this server, or by another on its restart)."""
        attempts = self.session.scalar(
            select(EventRow.tracking_attempts).where(EventRow.id == event_id)
        )
        if attempts is None:
            return
        self.session.execute(
            update(EventRow)
            .where(EventRow.id == event_id)
            .values(
                tracking_attempts=attempts + 1, tracking_retry_at=now + retry.delay(attempts + 1)
            )
        )

    def failed(self, event_id: int, error: str) -> None:
        """The event's tracking failed with ``error`` (shown on the event until one
        succeeds)."""
        self.session.execute(
            update(EventRow)
            .where(EventRow.id == event_id)
            .values(tracking_error=error[:ERROR_CHARS])
        )

    # -- what tracking reads ----------------------------------------------------------------

    def photos(self, event_id: int) -> list[Photo]:
        """The event's photos in capture order."""
        rows = self.session.execute(
            select(ImageRow.id, ImageRow.width, ImageRow.height, ImageRow.storage_key)
            .join(ImageEventRow, ImageEventRow.image_id == ImageRow.id)
            .where(ImageEventRow.event_id == event_id)
            .order_by(ImageRow.captured_sort, ImageRow.id)
        )
        return [Photo(int(i), int(w), int(h), key) for i, w, h, key in rows]

    def detections(self, event: Event, among: Collection[int] | None = None) -> list[Detection]:
        """The boxes of the current results of the event's photos (of them, only those
        ``among`` these ids when given: an occurrence's), with their best classification,
        pipeline, threshold and latest review; without their features (``with_features``)."""
        photos = select(ImageEventRow.image_id).where(ImageEventRow.event_id == event.id)
        current = current_analyses(event.project_id, AnalysisRow.image_id.in_(photos))
        query = (
            with_run_rows(
                select(*BOX_COLUMNS, RESULTS_OF, RUN_THRESHOLD).join(
                    AnalysisRow, AnalysisRow.id == AnnotationRow.analysis_id
                )
            )
            .where(
                AnnotationRow.analysis_id.in_(current),
                AnnotationRow.type == AnnotationType.BOUNDING_BOX.value,
                AnnotationRow.x1.is_not(None),
            )
            .order_by(AnnotationRow.id)
        )
        # Typed loosely: every row has its box (the query asks for x1), which mypy cannot see.
        rows: Sequence[Any]
        if among is None:
            rows = neighbours = cast(Sequence[Any], self.session.execute(query).all())
        else:
            rows = [
                row
                for chunk in chunks(sorted(among))
                for row in self.session.execute(query.where(AnnotationRow.id.in_(chunk)))
            ]
            # Earlier reviews are handed on as tracking hands them, among all the photos' boxes.
            neighbours = [
                row
                for chunk in chunks(sorted({int(r[1]) for r in rows}))
                for row in self.session.execute(query.where(AnnotationRow.image_id.in_(chunk)))
            ]
        ids = [int(r[0]) for r in rows]
        named, verdicts = self._classifications(ids)
        reviews = counted_reviews(self.session, [_placed(r) for r in neighbours])
        identified = marks(self.session, ids)
        hidden = frozenset(TaxaRepo(self.session).hidden_labels(event.project_id))
        found = []
        for aid, image_id, x1, y1, x2, y2, label, confidence, pipeline, threshold in rows:
            child = named.get(aid)
            if confidence is None and child is not None:
                confidence = child.score
            said = [Said(v) for v in verdicts.get(aid, ())]
            if child is not None:
                said.append(Said(child.label, child.score, child.terminal))
            named_as = name_box(Said(label, confidence), said, hidden)
            below = threshold is not None and confidence is not None and confidence < threshold
            found.append(
                Detection(
                    annotation_id=int(aid),
                    image_id=int(image_id),
                    pipeline=str(pipeline),
                    box=(float(x1), float(y1), float(x2), float(y2)),
                    label=named_as.label,
                    confidence=confidence,
                    features=None,
                    classification_id=child.id if child is not None else None,
                    review=reviews.get(aid),
                    below_threshold=below,
                    identifications=tuple(identified.get(aid, ())),
                    label_score=named_as.score,
                    classified=named_as.by_classifier,
                    hidden_labels=hidden,
                    # A stage that said there is nothing (a moth filter's "nonmoth") keeps the
                    # box out, however sure the detector was.
                    rejected=named_as.rejected,
                )
            )
        return found

    def with_features(self, found: Sequence[Detection]) -> list[Detection]:
        """The detections with the features their pipeline posted (the box's own, else its
        naming classification's), as 4-byte floats, read a few boxes at a time: a box may
        carry thousands of numbers, each a Python float while its JSON is read. Tracking asks
        for those that take part alone."""
        sources = {d.annotation_id: d.annotation_id for d in found}
        for d in found:
            if d.classification_id is not None:
                sources[d.classification_id] = d.annotation_id
        vectors: dict[int, array[float]] = {}
        a = AnnotationRow
        for chunk in chunks(sorted(sources), FEATURE_ROWS):
            # Packed where stored so; the JSON of rows stored before (and of callback boxes,
            # whose data may carry them) is read only where nothing is packed.
            packed = {
                int(i): b for i, b in self.session.execute(
                    select(a.id, a.features).where(a.id.in_(chunk))
                )
            }  # fmt: skip
            unpacked_rows = [i for i in chunk if packed.get(i) is None]
            read = {i: unpacked(b) for i, b in packed.items() if b is not None}
            if unpacked_rows:
                for aid, data in self.session.execute(
                    select(a.id, a.data).where(a.id.in_(unpacked_rows))
                ):
                    read[int(aid)] = _features(data)
            for aid, vector in read.items():
                box = sources[int(aid)]
                if vector is not None and (box not in vectors or int(aid) == box):
                    vectors[box] = vector
        return [
            replace(d, features=vectors[d.annotation_id]) if d.annotation_id in vectors else d
            for d in found
        ]

    def names(
        self, boxes: Sequence[tuple[int, str | None, float | None]]
    ) -> dict[int, tuple[str | None, float | None]]:
        """Per box (id, its own label and confidence), the label that names it as tracking
        reads it and how sure that label is."""
        named, _ = self._classifications([aid for aid, _, _ in boxes])
        found = {}
        for aid, label, confidence in boxes:
            child = named.get(aid)
            if confidence is None and child is not None:
                confidence = child.score
            said = [Said(child.label, child.score, child.terminal)] if child else []
            named_as = name_box(Said(label, confidence), said)
            found[aid] = (named_as.label, named_as.score)
        return found

    def _classifications(
        self, box_ids: Sequence[int]
    ) -> tuple[dict[int, _Named], dict[int, set[str]]]:
        """Per box, the classification that names it (its most confident terminal one, else
        its most confident one; ties: the first stored), and the labels of all of them."""
        best: dict[int, _Named] = {}
        labels: dict[int, set[str]] = {}
        # A few at a time: each one's JSON (scores, logits, features) is read whole.
        for chunk in chunks(box_ids, FEATURE_ROWS):
            rows = self.session.execute(
                select(
                    AnnotationRow.parent_id,
                    AnnotationRow.id,
                    AnnotationRow.label,
                    AnnotationRow.confidence,
                    AnnotationRow.data,
                )
                .where(
                    AnnotationRow.parent_id.in_(chunk),
                    AnnotationRow.type == AnnotationType.CLASSIFICATION.value,
                )
                .order_by(AnnotationRow.id)
            )
            for parent, child_id, label, confidence, data in rows:
                if label is not None:
                    labels.setdefault(parent, set()).add(label)
                terminal = (data or {}).get("terminal") is True
                held = best.get(parent)
                if held is None or (terminal, confidence or 0.0) > (
                    held.terminal,
                    held.score or 0.0,
                ):
                    best[parent] = _Named(label, confidence, terminal, int(child_id))
        return best, labels

    def earlier(self, event: Event, current: set[int]) -> Earlier:
        """What people did with detections of the event's photos that are no longer current
        results: the stored occurrences (their detections, and whether a reviewer made
        them), and every detection outside the current results that an occurrence holds or
        a person identified, with its box, identifications and latest review."""
        rows = self.session.execute(
            select(
                OccurrenceDetectionRow.occurrence_id,
                OccurrenceDetectionRow.annotation_id,
                OccurrenceRow.edited,
            )
            .join(OccurrenceRow, OccurrenceRow.id == OccurrenceDetectionRow.occurrence_id)
            .where(OccurrenceRow.event_id == event.id)
            .order_by(OccurrenceDetectionRow.occurrence_id, OccurrenceDetectionRow.annotation_id)
        )
        stored: dict[int, list[int]] = {}
        edited: set[int] = set()
        for occurrence_id, annotation_id, was_edited in rows:
            stored.setdefault(int(occurrence_id), []).append(int(annotation_id))
            if was_edited:
                edited.add(int(occurrence_id))
        photos = select(ImageEventRow.image_id).where(ImageEventRow.event_id == event.id)
        identified = {
            int(i)
            for i in self.session.scalars(
                select(IdentificationRow.annotation_id)
                .join(AnnotationRow, AnnotationRow.id == IdentificationRow.annotation_id)
                .where(AnnotationRow.image_id.in_(photos))
                .distinct()
            )
        }
        gone = sorted(({a for members in stored.values() for a in members} | identified) - current)
        placed = []
        for chunk in chunks(gone):
            for aid, image_id, x1, y1, x2, y2, pipeline in self.session.execute(
                select(
                    AnnotationRow.id,
                    AnnotationRow.image_id,
                    AnnotationRow.x1,
                    AnnotationRow.y1,
                    AnnotationRow.x2,
                    AnnotationRow.y2,
                    RESULTS_OF,
                )
                .join(AnalysisRow, AnalysisRow.id == AnnotationRow.analysis_id)
                .outerjoin(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
                .where(AnnotationRow.id.in_(chunk), AnnotationRow.x1.is_not(None))
            ):
                box = (float(x1 or 0), float(y1 or 0), float(x2 or 0), float(y2 or 0))
                placed.append(Placed(int(aid), int(image_id), str(pipeline), box))
        return Earlier(
            stored=stored,
            edited=edited,
            gone=placed,
            marks=marks(self.session, gone),
            identified=identified - current,
        )

    # -- what tracking writes ---------------------------------------------------------------

    def move_identifications(self, moves: dict[int, int]) -> None:
        """Identifications of earlier detections go to their successors (``succession``)."""
        for old, new in sorted(moves.items()):
            self.session.execute(
                update(IdentificationRow)
                .where(IdentificationRow.annotation_id == old)
                .values(annotation_id=new)
            )


@dataclass(frozen=True)
class Earlier:
    """What ``TrackingRepo.earlier`` reads."""

    #: Each stored occurrence of the event with its detections.
    stored: dict[int, list[int]]
    #: The stored occurrences a reviewer split or merged.
    edited: set[int]
    #: Detections outside the current results that an occurrence holds or a person
    #: identified.
    gone: list[Placed]
    #: Their identifications, by detection.
    marks: dict[int, list[IdentificationMark]]
    #: Those of them with an identification, withdrawn ones too (which move with the rest).
    identified: set[int]


def _placed(row: Any) -> Placed:
    """Where a row of ``detections``' statement is, as succession looks."""
    aid, image_id, x1, y1, x2, y2, _, _, pipeline, _ = row
    return Placed(
        int(aid), int(image_id), str(pipeline), (float(x1), float(y1), float(x2), float(y2))
    )


@dataclass(frozen=True)
class _Named:
    """A box's classification as tracking reads it."""

    label: str | None
    score: float | None
    terminal: bool
    #: The classification's own id.
    id: int


def _features(data: dict[str, Any] | None) -> array[float] | None:
    """A feature vector a pipeline posted with a detection or classification, as 4-byte
    floats (8 KB for AMI Data Companion's 2,048 numbers, not 64 KB of Python floats)."""
    vector = (data or {}).get("features")
    if not isinstance(vector, list) or not vector:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in vector):
        return None
    try:
        return array("f", vector)
    except OverflowError:  # a number past a 4-byte float's range
        return None
