"""Marking events due for tracking: every change to which results of a photo are current, to
what a label means or to a photo's reviews calls one of these, whichever capability makes it,
so they stand below them all. An event is due while its ``tracking_version`` is ahead of its
``tracked_version`` (``db/repositories/ecology/tracking.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from trapline.db.plain import Plain
from trapline.db.tables import AnnotationRow, EventRow, ImageEventRow


def events_due(session: Session, image_ids: Sequence[int] | Select[Any]) -> None:
    """The events of these photos (ids, or a query of them) are due for tracking: their
    current results or reviews changed. Ids take one plain statement: every results post
    marks its photos."""
    if isinstance(image_ids, Sequence):
        if image_ids:
            Plain(session).rows(_MARK_PHOTOS, among=list(image_ids))
        return
    events = select(ImageEventRow.event_id).where(ImageEventRow.image_id.in_(image_ids))
    session.execute(
        update(EventRow)
        .where(EventRow.id.in_(events))
        .values(tracking_version=EventRow.tracking_version + 1)
    )


#: ``events_due`` of a list of photos.
_MARK_PHOTOS = (
    "UPDATE events SET tracking_version = tracking_version + 1 WHERE id IN ("
    "SELECT event_id FROM image_events WHERE image_id IN ({among}))"
)


def label_events_due(session: Session, project_id: int, label: str) -> None:
    """The events of the project's photos with a result labelled ``label`` are due (whether
    that label names no object changed, so which detections take part did)."""
    photos = select(AnnotationRow.image_id).where(
        AnnotationRow.project_id == project_id, AnnotationRow.label == label
    )
    events_due(session, photos)


def project_events_due(session: Session, project_id: int) -> None:
    """Every event of the project is due (which of its results are current changed)."""
    session.execute(
        update(EventRow)
        .where(EventRow.project_id == project_id)
        .values(tracking_version=EventRow.tracking_version + 1)
    )
