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
from collections.abc import Callable, Sequence
from dataclasses import replace

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.occurrences import NewOccurrence
from trapline.db.repositories.tracking import Photo
from trapline.domain.events import Event
from trapline.domain.occurrences import (
    Detection,
    Occurrence,
    OccurrenceDetection,
    best_detection,
    determine,
)
from trapline.domain.records import User
from trapline.domain.results import Box
from trapline.domain.roles import Role
from trapline.domain.tracking import COST_THRESHOLD, Frame, Sighting, track
from trapline.errors import InvalidInput, TraplineError
from trapline.imaging.descriptors import box_descriptors
from trapline.imaging.limits import DecodeLimits
from trapline.imaging.probe import DEFAULT_LIMITS
from trapline.services.access import project_for, require
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: What taxon a label names (None: none).
TaxonOf = Callable[[str | None], int | None]

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
        due = repos.tracking.due(limit)
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
    """Track one event (as it stood at tracking ``version``); False when it went meanwhile.

    An occurrence a reviewer split or merged stays as they left it while all its detections
    still take part (its determination is made again); otherwise its detections are tracked
    afresh with the rest."""
    with db.read() as repos:
        event = repos.events.get(event_id)
        if event is None:
            return False
        photos = repos.tracking.photos(event_id)
        detections = [d for d in repos.tracking.detections(event) if d.takes_part]
        edited = repos.occurrences.groups(event_id, edited=True)
        taxon_of = _resolver(repos, event.project_id, detections)
    by_id = {d.annotation_id: d for d in detections}
    kept = {o: group for o, group in edited.items() if all(i in by_id for i in group)}
    fixed = {i for group in kept.values() for i in group}
    free = [d for d in detections if d.annotation_id not in fixed]
    made = [
        replace(_made([by_id[i] for i in group], photos, taxon_of, edited=True), occurrence_id=o)
        for o, group in kept.items()
    ]
    looks = _appearances(store, photos, free, limits)
    by_pipeline: dict[str, list[Detection]] = defaultdict(list)
    for detection in free:
        by_pipeline[detection.pipeline].append(detection)
    for _, found in sorted(by_pipeline.items()):
        made.extend(_tracked(photos, found, looks, threshold, taxon_of))
    with db.write() as repos:
        return repos.occurrences.replace(event, made, version)


def _tracked(
    photos: Sequence[Photo],
    detections: Sequence[Detection],
    looks: dict[int, tuple[float, ...]],
    threshold: float,
    taxon_of: TaxonOf,
) -> list[NewOccurrence]:
    """The occurrences of one pipeline's detections of an event."""
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
    return [
        _made([by_id[i] for i, _ in chain], photos, taxon_of, costs=[cost for _, cost in chain])
        for chain in track(frames, threshold)
    ]


def _resolver(repos: Repos, project_id: int, detections: Sequence[Detection]) -> TaxonOf:
    """What taxon each label of these detections (and their reviews) names."""
    labels = {d.label for d in detections} | {d.review[2] for d in detections if d.review}
    return repos.taxa.resolver(project_id, labels).taxon_of


def _made(
    members: Sequence[Detection],
    photos: Sequence[Photo],
    taxon_of: TaxonOf,
    *,
    costs: Sequence[float | None] | None = None,
    edited: bool = False,
) -> NewOccurrence:
    """An occurrence of these detections, in photo order, with its determination."""
    order = {photo.id: n for n, photo in enumerate(photos)}
    ranked = sorted(
        zip(members, costs or [None] * len(members), strict=True),
        key=lambda pair: (order.get(pair[0].image_id, 0), pair[0].annotation_id),
    )
    determination = determine([d for d, _ in ranked], taxon_of)
    return NewOccurrence(
        pipeline=ranked[0][0].pipeline,
        detections=list(ranked),
        best_annotation_id=best_detection([d for d, _ in ranked]).annotation_id,
        label=determination.label,
        score=determination.score,
        determined_by=determination.by,
        taxon_id=determination.taxon_id,
        identified_by=determination.identified_by,
        disputed=determination.disputed,
        edited=edited,
    )


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


def event_boxes(
    db: Database, caller: User, event_id: int, image_ids: Sequence[int]
) -> dict[int, list[tuple[int, Box]]]:
    """The tracked detections of some of an event's photos: (occurrence, box) by photo."""
    with db.read() as repos:
        event = require(repos.events.get(event_id), "event", event_id)
        project_for(repos, caller, event.project_id, Role.VIEWER, asked=("event", event_id))
        return repos.occurrences.boxes(image_ids)


def get_occurrence(
    db: Database, caller: User, occurrence_id: int
) -> tuple[Occurrence, list[OccurrenceDetection]]:
    """An occurrence the caller may see, with its detections in photo order."""
    with db.read() as repos:
        found = require(repos.occurrences.get(occurrence_id), "occurrence", occurrence_id)
        asked = ("occurrence", occurrence_id)
        project_for(repos, caller, found.project_id, Role.VIEWER, asked=asked)
        return found, repos.occurrences.sightings(occurrence_id)


# -- a reviewer's edits -------------------------------------------------------------------


def split(
    db: Database, caller: User, occurrence_id: int, detection_ids: Sequence[int]
) -> tuple[Occurrence, Occurrence]:
    """Move some of an occurrence's detections into a new occurrence (members of its
    project); both are kept as they are by later trackings. The two, the old one first."""
    with db.write() as repos:
        found = require(repos.occurrences.get(occurrence_id), "occurrence", occurrence_id)
        asked = ("occurrence", occurrence_id)
        project_for(repos, caller, found.project_id, Role.MEMBER, asked=asked)
        event = require(repos.events.get(found.event_id), "occurrence", occurrence_id)
        repos.occurrences.hold(event.id)
        members = repos.occurrences.groups(event.id).get(occurrence_id, [])
        leaving = set(detection_ids)
        strangers = sorted(leaving - set(members))
        if strangers:
            raise InvalidInput(
                f"detection_ids: {strangers} are not detections of occurrence {occurrence_id}"
            )
        if leaving == set(members):
            raise InvalidInput(
                "detection_ids: name some of the occurrence's detections, not all of them"
            )
        photos = repos.tracking.photos(event.id)
        by_id = {d.annotation_id: d for d in repos.tracking.detections(event)}
        taxon_of = _resolver(repos, event.project_id, list(by_id.values()))
        staying = [by_id[i] for i in members if i not in leaving]
        repos.occurrences.rewrite(occurrence_id, _made(staying, photos, taxon_of, edited=True))
        made = _made([by_id[i] for i in members if i in leaving], photos, taxon_of, edited=True)
        new_id = repos.occurrences.insert(event, made)
        repos.occurrences.tally(event.id)
        old, new = repos.occurrences.get(occurrence_id), repos.occurrences.get(new_id)
        assert old is not None
        assert new is not None
        return old, new


def merge(db: Database, caller: User, event_id: int, occurrence_ids: Sequence[int]) -> Occurrence:
    """Make one occurrence of several of an event, of one pipeline (members of its project):
    the first named keeps its id, the others go; later trackings keep it as it is."""
    ids = list(dict.fromkeys(occurrence_ids))
    with db.write() as repos:
        event = require(repos.events.get(event_id), "event", event_id)
        project_for(repos, caller, event.project_id, Role.MEMBER, asked=("event", event_id))
        found = []
        for occurrence_id in ids:
            one = require(repos.occurrences.get(occurrence_id), "occurrence", occurrence_id)
            asked = ("occurrence", occurrence_id)
            project_for(repos, caller, one.project_id, Role.MEMBER, asked=asked)
            found.append(one)
        if len(ids) < 2:
            raise InvalidInput("occurrence_ids: name at least two different occurrences")
        if any(o.event_id != event_id for o in found):
            raise InvalidInput(
                f"occurrence_ids: occurrences of different events cannot be merged (this is "
                f"event {event_id})"
            )
        if len({o.pipeline for o in found}) > 1:
            raise InvalidInput(
                "occurrence_ids: occurrences of different pipelines cannot be merged"
            )
        repos.occurrences.hold(event.id)
        groups = repos.occurrences.groups(event.id)
        by_id = {d.annotation_id: d for d in repos.tracking.detections(event)}
        members = [by_id[i] for o in ids for i in groups.get(o, ()) if i in by_id]
        photos = repos.tracking.photos(event.id)
        taxon_of = _resolver(repos, event.project_id, members)
        repos.occurrences.remove(ids[1:])
        repos.occurrences.rewrite(ids[0], _made(members, photos, taxon_of, edited=True))
        repos.occurrences.tally(event.id)
        merged = repos.occurrences.get(ids[0])
        assert merged is not None
        return merged


def _members(repos: Repos, occurrence: Occurrence) -> tuple[Event, list[Detection]]:
    """An occurrence's event (held until the transaction ends) and its detections."""
    event = require(repos.events.get(occurrence.event_id), "occurrence", occurrence.id)
    repos.occurrences.hold(event.id)
    members_ids = repos.occurrences.groups(event.id).get(occurrence.id, [])
    by_id = {d.annotation_id: d for d in repos.tracking.detections(event)}
    return event, [by_id[i] for i in members_ids if i in by_id]


def model_choice(repos: Repos, occurrence: Occurrence) -> tuple[str | None, int | None]:
    """The models' label for an occurrence (its most confident detection's) and the taxon
    that label names: what agreeing with the model identifies it as."""
    event, members = _members(repos, occurrence)
    if not members:
        return None, None
    label = best_detection(members).label
    return label, _resolver(repos, event.project_id, members)(label)


def redetermine(repos: Repos, occurrence: Occurrence) -> Occurrence:
    """Work out an occurrence's determination again (after an identification) and count its
    event again; the occurrence as it is now."""
    event, members = _members(repos, occurrence)
    if members:
        taxon_of = _resolver(repos, event.project_id, members)
        made = _made(members, repos.tracking.photos(event.id), taxon_of, edited=occurrence.edited)
        repos.occurrences.determine(occurrence.id, made)
        repos.occurrences.tally(event.id)
    now = repos.occurrences.get(occurrence.id)
    assert now is not None
    return now
