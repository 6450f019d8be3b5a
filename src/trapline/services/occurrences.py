"""Occurrences: tracking the events that are due (in the background, ``occurrences`` duty)
and reading what tracking made.

Tracking an event reads the boxes of its photos' current results (``domain/occurrences.py``
says which take part), gives each an appearance vector (the pipeline's features, else the
crop's colour descriptor from one reduced decode of its photo), links them photo to photo
(``domain/tracking.py``) pipeline by pipeline, and stores the chains in place of the event's
earlier occurrences, in one transaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from trapline.db.engine import Database
from trapline.db.repositories.occurrences import NewOccurrence, Photo
from trapline.domain.occurrences import (
    Detection,
    Occurrence,
    OccurrenceDetection,
    best_detection,
    determine,
)
from trapline.domain.records import User
from trapline.domain.roles import Role
from trapline.domain.tracking import COST_THRESHOLD, Frame, Sighting, track
from trapline.errors import TraplineError
from trapline.imaging.descriptors import box_descriptors
from trapline.imaging.limits import DecodeLimits
from trapline.imaging.probe import DEFAULT_LIMITS
from trapline.services.access import project_for, require
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: Seconds between runs of the duty that tracks the events that are due.
TRACKING_INTERVAL = 5.0
#: Events tracked in one run of the duty (the next run takes the rest).
EVENTS_PER_RUN = 20


def track_due(
    db: Database,
    store: BlobStore,
    *,
    limit: int = EVENTS_PER_RUN,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> int:
    """Track up to ``limit`` events that are due; how many were tracked."""
    with db.read() as repos:
        due = repos.occurrences.due(limit)
    for event_id, version in due:
        track_event(db, store, event_id, version, limits=limits)
    return len(due)


def track_event(
    db: Database,
    store: BlobStore,
    event_id: int,
    version: int,
    *,
    threshold: float = COST_THRESHOLD,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> bool:
    """Track one event (as it stood at tracking ``version``); False when it went meanwhile."""
    with db.read() as repos:
        event = repos.events.get(event_id)
        if event is None:
            return False
        photos = repos.occurrences.photos(event_id)
        detections = [d for d in repos.occurrences.detections(event) if d.takes_part]
    looks = _appearances(store, photos, detections, limits)
    made: list[NewOccurrence] = []
    by_pipeline: dict[str, list[Detection]] = defaultdict(list)
    for detection in detections:
        by_pipeline[detection.pipeline].append(detection)
    for pipeline, found in sorted(by_pipeline.items()):
        made.extend(_occurrences(pipeline, photos, found, looks, threshold))
    with db.write() as repos:
        return repos.occurrences.replace(event, version, made)


def _occurrences(
    pipeline: str,
    photos: Sequence[Photo],
    detections: Sequence[Detection],
    looks: dict[int, tuple[float, ...]],
    threshold: float,
) -> list[NewOccurrence]:
    of_photo: dict[int, list[Detection]] = defaultdict(list)
    for detection in detections:
        of_photo[detection.image_id].append(detection)
    frames = [
        Frame(
            photo.id,
            photo.width,
            photo.height,
            tuple(
                Sighting(d.annotation_id, *d.box, d.features, looks.get(d.annotation_id))
                for d in of_photo[photo.id]
            ),
        )
        for photo in photos
        if of_photo.get(photo.id)
    ]
    by_id = {d.annotation_id: d for d in detections}
    made = []
    for chain in track(frames, threshold):
        members = [by_id[i] for i, _ in chain]
        determination = determine(members)
        made.append(
            NewOccurrence(
                pipeline=pipeline,
                detections=[(by_id[i], cost) for i, cost in chain],
                best_annotation_id=best_detection(members).annotation_id,
                label=determination.label,
                score=determination.score,
                determined_by=determination.by,
            )
        )
    return made


def _appearances(
    store: BlobStore,
    photos: Sequence[Photo],
    detections: Sequence[Detection],
    limits: DecodeLimits,
) -> dict[int, tuple[float, ...]]:
    """Colour descriptors of the detections that have no features, one decode per photo.

    A photo that cannot be read leaves its detections without one: they are tracked on their
    boxes alone."""
    wanting: dict[int, list[Detection]] = defaultdict(list)
    for detection in detections:
        if detection.features is None:
            wanting[detection.image_id].append(detection)
    keys = {photo.id: photo.storage_key for photo in photos}
    looks: dict[int, tuple[float, ...]] = {}
    for image_id, found in wanting.items():
        try:
            with store.opened(keys[image_id]) as stream:
                vectors = box_descriptors(stream, [d.box for d in found], limits=limits)
        except (TraplineError, OSError) as exc:
            log.warning("tracking: photo %s unreadable, boxes only: %s", image_id, exc)
            continue
        looks |= {d.annotation_id: v for d, v in zip(found, vectors, strict=True)}
    return looks


# -- reading ----------------------------------------------------------------------------


def event_occurrences(
    db: Database, caller: User, event_id: int, *, limit: int, offset: int
) -> tuple[int, list[Occurrence]]:
    """An event's occurrences (viewers of its project), and how many it has."""
    with db.read() as repos:
        event = require(repos.events.get(event_id), "event", event_id)
        project_for(repos, caller, event.project_id, Role.VIEWER, asked=("event", event_id))
        return repos.occurrences.of_event(event_id, limit=limit, offset=offset)


def get_occurrence(
    db: Database, caller: User, occurrence_id: int
) -> tuple[Occurrence, list[OccurrenceDetection]]:
    """An occurrence the caller may see, with its detections in photo order."""
    with db.read() as repos:
        found = require(repos.occurrences.get(occurrence_id), "occurrence", occurrence_id)
        asked = ("occurrence", occurrence_id)
        project_for(repos, caller, found.project_id, Role.VIEWER, asked=asked)
        return found, repos.occurrences.sightings(occurrence_id)
