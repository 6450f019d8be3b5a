"""Occurrences: what tracking and reviewers write, and reading them. Every write has its
event's tallies counted again before the transaction commits (``counts.py``). What tracking
reads of an event, and which events are due, is ``tracking.py``'s.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.orm import Session

from trapline.db.ids import reserve_ids
from trapline.db.plain import Plain
from trapline.db.repositories.ecology.counts import untallied
from trapline.db.repositories.ecology.tally_moves import counted, move
from trapline.db.tables import (
    AnnotationRow,
    EventRow,
    ImageRow,
    OccurrenceDetectionRow,
    OccurrenceRow,
)
from trapline.db.types import BIGINT_MAX, chunks
from trapline.domain.ecology.events import Event
from trapline.domain.ecology.occurrences import (
    Detection,
    DeterminedBy,
    Occurrence,
    OccurrenceDetection,
)
from trapline.domain.processing.results import Box


@dataclass(frozen=True)
class NewOccurrence:
    """An occurrence tracking made, before it is stored."""

    pipeline: str
    #: Its detections in photo order, with what each link cost (None for the first).
    detections: list[tuple[Detection, float | None]]
    best_annotation_id: int
    label: str | None
    score: float | None
    determined_by: DeterminedBy
    #: The taxon the determination names, who identified it, and whether people disagree.
    taxon_id: int | None = None
    identified_by: str | None = None
    disputed: bool = False
    #: The rejection that determines it, if a person's latest word is one.
    rejected: str | None = None
    #: Made or kept by a reviewer's split or merge: tracking leaves it as it is.
    edited: bool = False
    #: The stored occurrence it is (an edited one kept by tracking), None for a new one.
    occurrence_id: int | None = None


class OccurrenceRepo:
    """Occurrences and the tracking state of events."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- what is due ------------------------------------------------------------------------

    def hold(self, event_id: int) -> bool:
        """Hold the event's row until the transaction ends (trackings and a reviewer's edits
        of one event take turns); False when it is gone."""
        held = self.session.execute(
            select(EventRow.id).where(EventRow.id == event_id).with_for_update()
        ).first()
        return held is not None

    def replace(
        self, event: Event, made: Sequence[NewOccurrence], version: int, *, untracked: int = 0
    ) -> bool:
        """Store an event's occurrences in place of all it had, made from tracking
        ``version`` (which left ``untracked`` boxes out); False when the event went
        meanwhile. An occurrence keeps its id when it names a stored one (a reviewer's edit)
        or holds the same detections as one: links to it, and what was published of it, stay
        good. A version already stored by another tracking is left as it is."""
        if not self.hold(event.id):
            return False
        tracked = self.session.scalar(
            select(EventRow.tracked_version).where(EventRow.id == event.id)
        )
        if tracked is not None and tracked >= version:
            self.session.execute(update(EventRow).where(EventRow.id == event.id).values(**_TRACKED))
            return True
        stored = self.groups(event.id, edited=False)
        same = {frozenset(ids): o for o, ids in stored.items()}
        made = [
            o if o.occurrence_id is not None else replace(o, occurrence_id=same.get(_members(o)))
            for o in made
        ]
        kept = [o.occurrence_id for o in made if o.occurrence_id is not None]
        self.session.execute(
            delete(OccurrenceRow).where(
                OccurrenceRow.event_id == event.id, OccurrenceRow.id.not_in(kept)
            )
        )
        times = self._times([d.image_id for o in made for d, _ in o.detections])
        self._rewrite_all([o for o in made if o.occurrence_id is not None], times)
        self._insert_all(event, [o for o in made if o.occurrence_id is None], times)
        self.session.execute(
            update(EventRow)
            .where(EventRow.id == event.id, EventRow.tracked_version < version)
            .values(tracked_version=version, untracked_boxes=untracked, **_TRACKED)
        )
        untallied(self.session, [event.id])
        return True

    def insert(self, event: Event, made: NewOccurrence) -> int:
        """Store one more occurrence of the event (a reviewer's split); its id."""
        untallied(self.session, [event.id])
        return self._insert(event, made, self._times([d.image_id for d, _ in made.detections]))

    def rewrite(self, occurrence_id: int, made: NewOccurrence) -> None:
        """Give an occurrence other detections (a reviewer's split or merge)."""
        untallied(self.session, self._events_of([occurrence_id]))
        self._rewrite(occurrence_id, made, self._times([d.image_id for d, _ in made.detections]))

    def _events_of(self, occurrence_ids: Sequence[int]) -> list[int]:
        return [
            int(e)
            for e in self.session.scalars(
                select(OccurrenceRow.event_id)
                .where(OccurrenceRow.id.in_(list(occurrence_ids)))
                .distinct()
            )
        ]

    def _rewrite(
        self, occurrence_id: int, made: NewOccurrence, times: dict[int, tuple[Any, int]]
    ) -> None:
        self._rewrite_all([replace(made, occurrence_id=occurrence_id)], times)

    def determine(self, occurrence_id: int, made: NewOccurrence) -> None:
        """Write an occurrence's determination again (after an identification); its
        event's tallies change by this occurrence alone."""
        was = counted(self.session, occurrence_id)
        self.session.execute(
            update(OccurrenceRow)
            .where(OccurrenceRow.id == occurrence_id)
            .values(
                label=made.label,
                score=made.score,
                determined_by=made.determined_by.value,
                taxon_id=made.taxon_id,
                identified_by=made.identified_by,
                disputed=made.disputed,
                rejected=made.rejected,
            )
        )
        move(self.session, was, counted(self.session, occurrence_id))

    def retaxon(self, project_id: int, label: str, taxon_id: int | None) -> None:
        """Occurrences determined by ``label`` (not by an identification) name ``taxon_id``
        now (a label mapping changed); their events are counted again."""
        where = (
            OccurrenceRow.project_id == project_id,
            OccurrenceRow.label == label,
            OccurrenceRow.identified_by.is_(None),
            OccurrenceRow.taxon_id.is_distinct_from(taxon_id),
        )
        events = self.session.scalars(select(OccurrenceRow.event_id).where(*where).distinct())
        untallied(self.session, [int(e) for e in events])
        self.session.execute(update(OccurrenceRow).where(*where).values(taxon_id=taxon_id))

    def of_annotation(self, annotation_id: int) -> int | None:
        """The occurrence a detection is in, if any."""
        found = self.session.scalar(
            select(OccurrenceDetectionRow.occurrence_id).where(
                OccurrenceDetectionRow.annotation_id == annotation_id
            )
        )
        return int(found) if found is not None else None

    def remove(self, occurrence_ids: Sequence[int]) -> None:
        """Delete occurrences (merged into another)."""
        untallied(self.session, self._events_of(occurrence_ids))
        self.session.execute(
            delete(OccurrenceRow).where(OccurrenceRow.id.in_(list(occurrence_ids)))
        )

    def _insert(self, event: Event, made: NewOccurrence, times: dict[int, tuple[Any, int]]) -> int:
        return self._insert_all(event, [made], times)[0]

    def _insert_all(
        self, event: Event, made: Sequence[NewOccurrence], times: dict[int, tuple[Any, int]]
    ) -> list[int]:
        """Store new occurrences of the event and their detections: their ids drawn at once,
        one statement for all the occurrences and one for all the links, not one per row."""
        if not made:
            return []
        (ids,) = reserve_ids(self.session, (_OCCURRENCES, len(made)))
        owner = {
            "project_id": event.project_id,
            "deployment_id": event.deployment_id,
            "event_id": event.id,
        }
        self.session.execute(
            insert(OccurrenceRow),
            [{"id": i} | owner | _fields(o, times) for i, o in zip(ids, made, strict=True)],
        )
        self._link(list(zip(ids, made, strict=True)))
        return ids

    def _rewrite_all(
        self, made: Sequence[NewOccurrence], times: dict[int, tuple[Any, int]]
    ) -> None:
        """Give stored occurrences (each ``made`` names its own) these detections and
        columns: their links go and come again, their rows change in one statement."""
        ids = [o.occurrence_id for o in made if o.occurrence_id is not None]
        if not ids:
            return
        for chunk in chunks(ids):
            self.session.execute(
                delete(OccurrenceDetectionRow).where(
                    OccurrenceDetectionRow.occurrence_id.in_(chunk)
                )
            )
        self.session.execute(
            update(OccurrenceRow),
            [{"id": i} | _fields(o, times) for i, o in zip(ids, made, strict=True)],
        )
        self._link(list(zip(ids, made, strict=True)))

    def _link(self, made: Sequence[tuple[int, NewOccurrence]]) -> None:
        """The detections of these occurrences (each with its id), in one statement."""
        rows = [
            (d.annotation_id, occurrence_id, d.image_id, cost)
            for occurrence_id, occurrence in made
            for d, cost in occurrence.detections
        ]
        Plain(self.session).insert(_LINKS, _LINK_COLUMNS, rows)

    def groups(self, event_id: int, *, edited: bool | None = None) -> dict[int, list[int]]:
        """Each occurrence of the event (``edited``: only those a reviewer split or merged, or
        only the others) with its detections."""
        terms = [OccurrenceRow.event_id == event_id]
        if edited is not None:
            terms.append(OccurrenceRow.edited.is_(edited))
        rows = self.session.execute(
            select(OccurrenceDetectionRow.occurrence_id, OccurrenceDetectionRow.annotation_id)
            .join(OccurrenceRow, OccurrenceRow.id == OccurrenceDetectionRow.occurrence_id)
            .where(*terms)
            .order_by(OccurrenceDetectionRow.occurrence_id, OccurrenceDetectionRow.annotation_id)
        )
        found: dict[int, list[int]] = {}
        for occurrence_id, annotation_id in rows:
            found.setdefault(int(occurrence_id), []).append(int(annotation_id))
        return found

    def detections_of(self, occurrence_ids: Collection[int]) -> dict[int, list[int]]:
        """These occurrences' detections, by occurrence: a read of theirs alone, however many
        the event holds."""
        found: dict[int, list[int]] = {}
        for chunk in chunks(sorted(set(occurrence_ids))):
            link = OccurrenceDetectionRow
            rows = self.session.execute(
                select(link.occurrence_id, link.annotation_id)
                .where(link.occurrence_id.in_(chunk))
                .order_by(link.occurrence_id, link.annotation_id)
            )
            for occurrence_id, annotation_id in rows:
                found.setdefault(int(occurrence_id), []).append(int(annotation_id))
        return found

    def _times(self, image_ids: Sequence[int]) -> dict[int, tuple[Any, int]]:
        times: dict[int, tuple[Any, int]] = {}
        for chunk in chunks(sorted(set(image_ids))):
            rows = self.session.execute(
                select(ImageRow.id, ImageRow.captured_at, ImageRow.captured_offset_minutes).where(
                    ImageRow.id.in_(chunk)
                )
            )
            times |= {int(i): (at, offset or 0) for i, at, offset in rows}
        return times

    # -- reading ----------------------------------------------------------------------------

    def of_event(
        self, event_id: int, pipeline: str | None, *, limit: int, offset: int
    ) -> tuple[int, list[Occurrence]]:
        """An event's occurrences (of ``pipeline``; None: of any) in order of first sighting,
        and how many it has."""
        where = OccurrenceRow.event_id == event_id
        if pipeline is not None:
            where = where & (OccurrenceRow.pipeline == pipeline)
        total = self.session.scalar(select(func.count()).where(where)) or 0
        rows = self.session.scalars(
            select(OccurrenceRow)
            .where(where)
            .order_by(OccurrenceRow.first_seen_at, OccurrenceRow.id)
            .limit(limit)
            .offset(offset)
        )
        return int(total), [to_occurrence(r) for r in rows]

    def get(self, occurrence_id: int) -> Occurrence | None:
        """One occurrence (None for an id no row can have, as for one no row has)."""
        if not 1 <= occurrence_id <= BIGINT_MAX:
            return None
        row = self.session.get(OccurrenceRow, occurrence_id)
        return to_occurrence(row) if row else None

    def boxes(self, image_ids: Sequence[int]) -> dict[int, list[tuple[int, Box]]]:
        """The tracked detections of these photos: (occurrence, box) by photo."""
        found: dict[int, list[tuple[int, Box]]] = {}
        for chunk in chunks(image_ids):
            rows = self.session.execute(
                select(
                    OccurrenceDetectionRow.image_id,
                    OccurrenceDetectionRow.occurrence_id,
                    AnnotationRow.x1,
                    AnnotationRow.y1,
                    AnnotationRow.x2,
                    AnnotationRow.y2,
                )
                .join(AnnotationRow, AnnotationRow.id == OccurrenceDetectionRow.annotation_id)
                .where(OccurrenceDetectionRow.image_id.in_(chunk))
                .order_by(OccurrenceDetectionRow.occurrence_id)
            )
            for image_id, occurrence_id, x1, y1, x2, y2 in rows:
                box = Box(float(x1 or 0), float(y1 or 0), float(x2 or 0), float(y2 or 0))
                found.setdefault(int(image_id), []).append((int(occurrence_id), box))
        return found

    def settled_on(self, image_id: int) -> dict[int, Occurrence]:
        """The occurrences a person identified or rejected that hold boxes of this photo, by
        the box's annotation id."""
        o, link = OccurrenceRow, OccurrenceDetectionRow
        rows = self.session.execute(
            select(link.annotation_id, o)
            .join(o, o.id == link.occurrence_id)
            .where(
                link.image_id == image_id,
                (o.identified_by.is_not(None)) | (o.rejected.is_not(None)),
            )
        )
        return {int(annotation): to_occurrence(row) for annotation, row in rows}

    def sightings(self, occurrence_id: int) -> list[OccurrenceDetection]:
        """An occurrence's detections in photo order."""
        rows = self.session.execute(
            select(
                *BOX_COLUMNS,
                OccurrenceDetectionRow.cost,
                ImageRow.captured_at,
                ImageRow.captured_offset_minutes,
            )
            .join(AnnotationRow, AnnotationRow.id == OccurrenceDetectionRow.annotation_id)
            .join(ImageRow, ImageRow.id == OccurrenceDetectionRow.image_id)
            .where(OccurrenceDetectionRow.occurrence_id == occurrence_id)
            .order_by(ImageRow.captured_sort, ImageRow.id, AnnotationRow.id)
        )
        return [
            OccurrenceDetection(
                annotation_id=int(aid),
                image_id=int(image_id),
                box=(float(x1 or 0), float(y1 or 0), float(x2 or 0), float(y2 or 0)),
                label=label,
                confidence=confidence,
                cost=cost,
                captured_at=at,
                captured_offset_minutes=offset,
            )
            for aid, image_id, x1, y1, x2, y2, label, confidence, cost, at, offset in rows
        ]


def _fields(made: NewOccurrence, times: dict[int, tuple[Any, int]]) -> dict[str, Any]:
    """An occurrence's own columns, from its detections (in photo order) and their times."""
    first = times[made.detections[0][0].image_id]
    last = times[made.detections[-1][0].image_id]
    return {
        "pipeline": made.pipeline,
        "first_seen_at": first[0],
        "first_offset_minutes": first[1],
        "last_seen_at": last[0],
        "last_offset_minutes": last[1],
        "detection_count": len(made.detections),
        "best_annotation_id": made.best_annotation_id,
        "label": made.label,
        "score": made.score,
        "determined_by": made.determined_by.value,
        "taxon_id": made.taxon_id,
        "identified_by": made.identified_by,
        "disputed": made.disputed,
        "rejected": made.rejected,
        "edited": made.edited,
    }


def _members(made: NewOccurrence) -> frozenset[int]:
    return frozenset(d.annotation_id for d, _ in made.detections)


def to_occurrence(row: OccurrenceRow) -> Occurrence:
    return Occurrence(
        id=row.id,
        project_id=row.project_id,
        deployment_id=row.deployment_id,
        event_id=row.event_id,
        pipeline=row.pipeline,
        first_seen_at=row.first_seen_at,
        first_offset_minutes=row.first_offset_minutes,
        last_seen_at=row.last_seen_at,
        last_offset_minutes=row.last_offset_minutes,
        detection_count=row.detection_count,
        best_annotation_id=row.best_annotation_id,
        label=row.label,
        score=row.score,
        determined_by=DeterminedBy(row.determined_by),
        edited=row.edited,
        taxon_id=row.taxon_id,
        identified_by=row.identified_by,
        disputed=row.disputed,
        rejected=row.rejected,
    )


_OCCURRENCES = cast(Table, OccurrenceRow.__table__)
#: The table of an occurrence's detections, and the columns of its bulk insert's rows.
_LINKS = cast(Table, OccurrenceDetectionRow.__table__)
_LINK_COLUMNS = ("annotation_id", "occurrence_id", "image_id", "cost")
#: An event whose tracking stored its occurrences: no backoff, no error (``TrackingRepo.begin``).
_TRACKED: dict[str, Any] = {
    "tracking_attempts": 0,
    "tracking_retry_at": None,
    "tracking_error": None,
}
#: A detection's id, photo, box, label and confidence, as the occurrences' reads take them.
BOX_COLUMNS = (
    AnnotationRow.id,
    AnnotationRow.image_id,
    AnnotationRow.x1,
    AnnotationRow.y1,
    AnnotationRow.x2,
    AnnotationRow.y2,
    AnnotationRow.label,
    AnnotationRow.confidence,
)
