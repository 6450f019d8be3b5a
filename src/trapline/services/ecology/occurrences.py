"""Occurrences: tracking an event (the ``occurrences`` duty picks the events that are due:
``services/ecology/tracking.py``), reading what tracking made, and a reviewer's splits and merges.

Tracking an event reads the boxes of its photos' current results (``domain/ecology/occurrences.py``
says which take part), gives each an appearance vector (the pipeline's features, else the
crop's colour descriptor from one reduced decode of its photo), links them photo to photo
(``domain/ecology/tracking.py``) pipeline by pipeline, and stores the chains in place of the event's
earlier occurrences, in one transaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.ecology.occurrences import NewOccurrence
from trapline.db.repositories.ecology.tracking import Earlier, Photo
from trapline.domain.core.records import Image, User
from trapline.domain.core.roles import Role
from trapline.domain.ecology.events import Event
from trapline.domain.ecology.occurrences import (
    Detection,
    Occurrence,
    OccurrenceDetection,
    best_detection,
    determine,
    surest_label,
    within_cap,
)
from trapline.domain.ecology.succession import Placed, inherited_ids, successors
from trapline.domain.ecology.tracking import COST_THRESHOLD, MAX_BOXES, Frame, Sighting, track
from trapline.domain.processing.results import Box
from trapline.domain.taxa.taxa import IdentificationMark
from trapline.errors import InvalidInput
from trapline.imaging.limits import DecodeLimits
from trapline.imaging.probe import DEFAULT_LIMITS
from trapline.services.core.access import project_for, require
from trapline.services.ecology.appearances import appearances
from trapline.services.ecology.counting import counting_scope
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: What taxon a label names (None: none).
TaxonOf = Callable[[str | None], int | None]


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

    Detections that are no longer current results (a re-run, a new version) hand what people
    did with them to their successors (``domain/ecology/succession.py``): identifications move, a
    split or merge stays when all its detections continue, an occurrence keeps its id. An
    occurrence a reviewer split or merged stays as they left it while all its detections
    still take part (its determination is made again); otherwise its detections are tracked
    afresh with the rest."""
    with db.read() as repos:
        event = repos.ecology.events.get(event_id)
        if event is None:
            return False
        photos = repos.ecology.tracking.photos(event_id)
        current = repos.ecology.tracking.detections(event)
        earlier = repos.ecology.tracking.earlier(event, {d.annotation_id for d in current})
        succession = successors(earlier.gone, [_placed(d) for d in current])
        taking_part, capped = within_cap(
            [d for d in _carried(current, earlier, succession) if d.takes_part],
            repos.ecology.choices.counting_of(event.deployment_id),
            MAX_BOXES,
        )
        detections = repos.ecology.tracking.with_features(taking_part)
        taxon_of = _resolver(repos, event.project_id, detections)
    by_id = {d.annotation_id: d for d in detections}
    kept = {}
    for occurrence_id in earlier.edited:
        group = [succession.get(i, i) for i in earlier.stored[occurrence_id]]
        if all(i in by_id for i in group) and len(set(group)) == len(group):
            kept[occurrence_id] = group
    fixed = {i for group in kept.values() for i in group}
    free = [d for d in detections if d.annotation_id not in fixed]
    made = [
        replace(_made([by_id[i] for i in group], photos, taxon_of, edited=True), occurrence_id=o)
        for o, group in sorted(kept.items())
    ]
    looks = appearances(store, photos, free, limits)
    by_pipeline: dict[str, list[Detection]] = defaultdict(list)
    for detection in free:
        by_pipeline[detection.pipeline].append(detection)
    tracked: list[NewOccurrence] = []
    untracked = capped
    for _, found in sorted(by_pipeline.items()):
        chains, left_out = _tracked(photos, found, looks, threshold, taxon_of)
        tracked += chains
        untracked += left_out
    others = {o: m for o, m in earlier.stored.items() if o not in kept}
    inherited = inherited_ids([_detection_ids(o) for o in tracked], others, succession)
    made += [replace(o, occurrence_id=inherited.get(n)) for n, o in enumerate(tracked)]
    moves = {old: new for old, new in succession.items() if old in earlier.identified}
    with db.write() as repos:
        repos.ecology.tracking.move_identifications(moves)
        return repos.ecology.occurrences.replace(event, made, version, untracked=untracked)


def _placed(detection: Detection) -> Placed:
    return Placed(detection.annotation_id, detection.image_id, detection.pipeline, detection.box)


def _detection_ids(made: NewOccurrence) -> frozenset[int]:
    return frozenset(d.annotation_id for d, _ in made.detections)


def _carried(
    current: Sequence[Detection], earlier: Earlier, succession: dict[int, int]
) -> list[Detection]:
    """The current detections, each with the identifications of the earlier detections it
    succeeds (their reviews are handed on as they are read: ``carried_reviews``)."""
    marks: dict[int, list[IdentificationMark]] = defaultdict(list)
    for old, new in succession.items():
        marks[new] += earlier.marks.get(old, [])
    found = []
    for d in current:
        extra = marks.get(d.annotation_id)
        if extra:
            ordered = tuple(sorted((*d.identifications, *extra), key=lambda m: m.id))
            d = replace(d, identifications=ordered)
        found.append(d)
    return found


def _tracked(
    photos: Sequence[Photo],
    detections: Sequence[Detection],
    looks: dict[int, tuple[float, ...]],
    threshold: float,
    taxon_of: TaxonOf,
) -> tuple[list[NewOccurrence], int]:
    """The occurrences of one pipeline's detections of an event, and how many of them were
    left out (past ``MAX_BOXES`` on a photo)."""
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
    chains = track(frames, threshold)
    return [
        _made([by_id[i] for i, _ in chain], photos, taxon_of, costs=[cost for _, cost in chain])
        for chain in chains
    ], sum(chains.left_out.values())


def _resolver(repos: Repos, project_id: int, detections: Sequence[Detection]) -> TaxonOf:
    """What taxon each label of these detections (and their reviews) names."""
    labels = {d.label for d in detections} | {d.review[2] for d in detections if d.review}
    return repos.taxa.taxa.resolver(project_id, labels).taxon_of


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
        rejected=determination.rejected,
        edited=edited,
    )


# -- reading ----------------------------------------------------------------------------


def event_occurrences(
    db: Database,
    caller: User,
    event_id: int,
    *,
    limit: int,
    offset: int,
    pipeline: str | None = None,
) -> tuple[int, list[Occurrence], int]:
    """An event's occurrences (viewers of its project) of ``pipeline``, else of the pipeline
    its deployment counts by, how many it has, and how many boxes its tracking left out."""
    with db.read() as repos:
        event = require(repos.ecology.events.get(event_id), "event", event_id)
        project_for(repos, caller, event.project_id, Role.VIEWER, asked=("event", event_id))
        scope = counting_scope(
            repos, caller, event.project_id, pipeline=pipeline, deployment_id=event.deployment_id
        )
        total, found = repos.ecology.occurrences.of_event(
            event_id, scope.pipeline, limit=limit, offset=offset
        )
        return total, found, event.untracked_boxes


def event_boxes(
    db: Database, caller: User, event_id: int, image_ids: Sequence[int]
) -> dict[int, list[tuple[int, Box]]]:
    """The tracked detections of some of an event's photos: (occurrence, box) by photo."""
    with db.read() as repos:
        event = require(repos.ecology.events.get(event_id), "event", event_id)
        project_for(repos, caller, event.project_id, Role.VIEWER, asked=("event", event_id))
        return repos.ecology.occurrences.boxes(image_ids)


def settled_on_photo(db: Database, caller: User, image: Image) -> dict[int, Occurrence]:
    """The occurrences people identified or rejected among those holding a photo's boxes, by
    box (viewers of its project): what counting names those boxes by."""
    with db.read() as repos:
        project_for(repos, caller, image.project_id, Role.VIEWER, asked=("image", image.id))
        return repos.ecology.occurrences.settled_on(image.id)


def get_occurrence(
    db: Database, caller: User, occurrence_id: int
) -> tuple[Occurrence, list[OccurrenceDetection]]:
    """An occurrence the caller may see, with its detections in photo order, each with the
    label that names it."""
    with db.read() as repos:
        found = require(repos.ecology.occurrences.get(occurrence_id), "occurrence", occurrence_id)
        asked = ("occurrence", occurrence_id)
        project_for(repos, caller, found.project_id, Role.VIEWER, asked=asked)
        sightings = repos.ecology.occurrences.sightings(occurrence_id)
        names = repos.ecology.tracking.names(
            [(s.annotation_id, s.label, s.confidence) for s in sightings]
        )
        named = [
            replace(s, label=names[s.annotation_id][0], label_score=names[s.annotation_id][1])
            for s in sightings
        ]
        return found, named


# -- a reviewer's edits -------------------------------------------------------------------


def split(
    db: Database, caller: User, occurrence_id: int, detection_ids: Sequence[int]
) -> tuple[Occurrence, Occurrence]:
    """Move some of an occurrence's detections into a new occurrence (members of its
    project); both are kept as they are by later trackings. The two, the old one first."""
    with db.write() as repos:
        found = require(repos.ecology.occurrences.get(occurrence_id), "occurrence", occurrence_id)
        asked = ("occurrence", occurrence_id)
        project_for(repos, caller, found.project_id, Role.MEMBER, asked=asked)
        event = require(repos.ecology.events.get(found.event_id), "occurrence", occurrence_id)
        repos.ecology.occurrences.hold(event.id)
        members = repos.ecology.occurrences.groups(event.id).get(occurrence_id, [])
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
        photos = repos.ecology.tracking.photos(event.id)
        by_id = {d.annotation_id: d for d in repos.ecology.tracking.detections(event)}
        taxon_of = _resolver(repos, event.project_id, list(by_id.values()))
        staying = [by_id[i] for i in members if i not in leaving]
        repos.ecology.occurrences.rewrite(
            occurrence_id, _made(staying, photos, taxon_of, edited=True)
        )
        made = _made([by_id[i] for i in members if i in leaving], photos, taxon_of, edited=True)
        new_id = repos.ecology.occurrences.insert(event, made)
        old, new = (
            repos.ecology.occurrences.get(occurrence_id),
            repos.ecology.occurrences.get(new_id),
        )
        assert old is not None
        assert new is not None
        return old, new


def merge(db: Database, caller: User, event_id: int, occurrence_ids: Sequence[int]) -> Occurrence:
    """Make one occurrence of several of an event, of one pipeline (members of its project):
    the first named keeps its id, the others go; later trackings keep it as it is."""
    ids = list(dict.fromkeys(occurrence_ids))
    with db.write() as repos:
        event = require(repos.ecology.events.get(event_id), "event", event_id)
        project_for(repos, caller, event.project_id, Role.MEMBER, asked=("event", event_id))
        found = []
        for occurrence_id in ids:
            one = require(repos.ecology.occurrences.get(occurrence_id), "occurrence", occurrence_id)
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
        repos.ecology.occurrences.hold(event.id)
        groups = repos.ecology.occurrences.groups(event.id)
        by_id = {d.annotation_id: d for d in repos.ecology.tracking.detections(event)}
        members = [by_id[i] for o in ids for i in groups.get(o, ()) if i in by_id]
        photos = repos.ecology.tracking.photos(event.id)
        taxon_of = _resolver(repos, event.project_id, members)
        repos.ecology.occurrences.remove(ids[1:])
        repos.ecology.occurrences.rewrite(ids[0], _made(members, photos, taxon_of, edited=True))
        merged = repos.ecology.occurrences.get(ids[0])
        assert merged is not None
        return merged


def _members(
    repos: Repos, found: Sequence[Occurrence]
) -> Iterator[tuple[Event, dict[int, list[Detection]]]]:
    """These occurrences' events (each held until the transaction ends, in id order) with
    the detections of each occurrence: one read of their detections per event."""
    by_event: dict[int, list[Occurrence]] = defaultdict(list)
    for occurrence in found:
        by_event[occurrence.event_id].append(occurrence)
    for event_id, group in sorted(by_event.items()):
        event = require(repos.ecology.events.get(event_id), "occurrence", group[0].id)
        repos.ecology.occurrences.hold(event.id)
        groups = repos.ecology.occurrences.detections_of([o.id for o in group])
        wanted = {i for o in group for i in groups.get(o.id, [])}
        by_id = {d.annotation_id: d for d in repos.ecology.tracking.detections(event, among=wanted)}
        yield event, {o.id: [by_id[i] for i in groups.get(o.id, []) if i in by_id] for o in group}


def model_choice(repos: Repos, occurrence: Occurrence) -> tuple[str | None, int | None]:
    """The models' label for an occurrence (its most confident detection's) and the taxon
    that label names: what agreeing with the model identifies it as."""
    return model_choices(repos, [occurrence])[occurrence.id]


def model_choices(
    repos: Repos, found: Sequence[Occurrence]
) -> dict[int, tuple[str | None, int | None]]:
    """``model_choice`` of each of these occurrences, by occurrence id."""
    chosen: dict[int, tuple[str | None, int | None]] = {}
    for event, members in _members(repos, found):
        taxon_of = _resolver(repos, event.project_id, [d for m in members.values() for d in m])
        for occurrence_id, detections in members.items():
            label = surest_label(detections).label if detections else None
            chosen[occurrence_id] = (label, taxon_of(label) if detections else None)
    return chosen


def redetermine(repos: Repos, occurrence: Occurrence) -> Occurrence:
    """Work out an occurrence's determination again (after an identification); the
    occurrence as it is now."""
    return redetermine_all(repos, [occurrence])[0]


def redetermine_all(repos: Repos, found: Sequence[Occurrence]) -> list[Occurrence]:
    """``redetermine`` these occurrences, reading each event once; in the order given."""
    edited = {o.id: o.edited for o in found}
    for event, members in _members(repos, found):
        taxon_of = _resolver(repos, event.project_id, [d for m in members.values() for d in m])
        photos = repos.ecology.tracking.photos(event.id)
        for occurrence_id, detections in members.items():
            if detections:
                made = _made(detections, photos, taxon_of, edited=edited[occurrence_id])
                repos.ecology.occurrences.determine(occurrence_id, made)
    now = [repos.ecology.occurrences.get(o.id) for o in found]
    assert all(o is not None for o in now)
    return [o for o in now if o is not None]
