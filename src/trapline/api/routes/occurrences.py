"""Occurrences: the individuals tracked across consecutive photos of an event."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.http.pagination import offset_page
from trapline.http.params import DEFAULT_LIMIT, Id, Limit, NestedOffset, QueryPipeline
from trapline.schemas.occurrences import (
    MergeIn,
    OccurrenceOut,
    OccurrenceWithDetectionsOut,
    SightingOut,
    SplitIn,
    SplitOut,
)
from trapline.services.ecology import occurrences

router = APIRouter(tags=["events"])


@router.get("/events/{event_id}/occurrences")
def list_occurrences(
    request: Request,
    event_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: NestedOffset = 0,
    pipeline: QueryPipeline = None,
) -> dict[str, Any]:
    """An event's occurrences of one pipeline in order of first sighting, each with its
    determination, and how many boxes tracking left out (``untracked_boxes``)."""
    total, found, untracked = occurrences.event_occurrences(
        db, caller, event_id, limit=limit, offset=offset, pipeline=pipeline
    )
    page = offset_page(request, total, [OccurrenceOut.of(o) for o in found], limit, offset)
    return {**page, "untracked_boxes": untracked}


@router.get("/occurrences/{occurrence_id}")
def get_occurrence(
    occurrence_id: Id, caller: CurrentUser, db: DatabaseDep
) -> OccurrenceWithDetectionsOut:
    """An occurrence with its detections in photo order."""
    found, sightings = occurrences.get_occurrence(db, caller, occurrence_id)
    return OccurrenceWithDetectionsOut(
        **OccurrenceOut.of(found).model_dump(),
        detections=[SightingOut.of(s) for s in sightings],
    )


@router.post("/occurrences/{occurrence_id}/split")
def split_occurrence(
    occurrence_id: Id, body: SplitIn, caller: CurrentUser, db: DatabaseDep
) -> SplitOut:
    """Move some of an occurrence's detections into a new occurrence (members).

    Both are kept as they are when the event is tracked again, while their detections stay
    current; 400 names ``detection_ids`` when they are not some of the occurrence's own.
    """
    kept, new = occurrences.split(db, caller, occurrence_id, body.detection_ids)
    return SplitOut(kept=OccurrenceOut.of(kept), new=OccurrenceOut.of(new))


@router.post("/events/{event_id}/occurrences/merge")
def merge_occurrences(
    event_id: Id, body: MergeIn, caller: CurrentUser, db: DatabaseDep
) -> OccurrenceOut:
    """Make one occurrence of several of an event and pipeline (members); the first keeps its
    id. 400 names ``occurrence_ids`` for occurrences of other events or pipelines."""
    return OccurrenceOut.of(occurrences.merge(db, caller, event_id, body.occurrence_ids))
