"""Detection scorers: ``moth-blobs``' insect score refitted from the project's box reviews
(decision 073; docs/evaluation.md).

A member asks for a scorer. The request checks that people judged enough boxes, on photos of at
least two nights, and queues it; a background run (``background/detection_scorers.py``) reads
each reviewed photo from storage, finds its candidate blobs as ``moth-blobs`` does, labels them
by people's boxes, cross-validates by night and stores the weights and the held-out figures
(``evaluation/blob_scorer.py``). Nothing uses a scorer until a person promotes it
(``scorer_promotion.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import Any, Protocol

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.review.detection_scorers import PhotoReviews, ScorerFitted
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.errors import Conflict, InvalidInput, TraplineError
from trapline.evaluation.blob_scorer import (
    ReviewedPhoto,
    ScorerFit,
    ScorerWeights,
    cross_validate,
)
from trapline.evaluation.detection_scorers import DetectionScorer
from trapline.imaging.limits import DecodeLimits
from trapline.imaging.probe import upright_pixels
from trapline.pipelines.base import SourceImage
from trapline.pipelines.blob_segmentation import BlobSettings, scan
from trapline.services.core.access import project_for, require, require_person
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

SYSTEM_CLOCK = SystemClock()
#: Scorers a project's listing shows (the newest).
LISTED = 200
#: Reviewed photos a scorer reads at most (those reviewed last).
MAX_PHOTOS = 1000
#: Boxes people confirmed or drew a scorer needs at least, on photos of at least 2 nights.
MIN_INSECT_BOXES = 10
#: Long side photos are decoded at: twice what ``moth-blobs`` works on.
DECODE_SIDE = 2 * BlobSettings().work_size


class Submits(Protocol):
    """Whatever runs a queued scorer soon (``background/detection_scorers.ScorerRunner``)."""

    def submit(self, run_id: int) -> None: ...


def create_scorer(
    db: Database,
    runner: Submits,
    caller: User,
    project_id: int,
    name: str,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> DetectionScorer:
    """Queue a scorer of the project's box reviews named ``name`` (members); InvalidInput
    saying what is missing when people judged too few boxes."""
    name = name.strip()
    if not name:
        raise InvalidInput("name: required", field="name")
    with db.read() as repos:
        project_for(repos, require_person(caller), project_id, Role.MEMBER)
        _check_name(repos, project_id, name)
        check_reviews(repos, project_id)
    with db.write() as repos:
        project_for(repos, require_person(caller), project_id, Role.MEMBER)
        _check_name(repos, project_id, name)
        made = repos.review.detection_scorers.create(project_id, name, caller.id, clock.now())
        found = repos.review.detection_scorers.get(made)
        assert found is not None
    runner.submit(made)
    return found


def get_scorer(db: Database, caller: User, scorer_id: int) -> DetectionScorer:
    """One scorer (viewers of its project; others are told it is not there)."""
    with db.read() as repos:
        found = require(
            repos.review.detection_scorers.get(scorer_id), "detection scorer", scorer_id
        )
        asked = ("detection scorer", scorer_id)
        project_for(repos, caller, found.project_id, Role.VIEWER, asked=asked)
        return found


def list_scorers(db: Database, caller: User, project_id: int) -> list[DetectionScorer]:
    """The project's scorers, newest first, the latest ``LISTED`` (viewers)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.review.detection_scorers.of_project(project_id, LISTED)


def check_reviews(repos: Repos, project_id: int) -> list[PhotoReviews]:
    """The project's reviewed photos; InvalidInput saying what is missing when people confirmed
    or drew fewer than ``MIN_INSECT_BOXES`` boxes, or on photos of one night only."""
    hidden = repos.taxa.taxa.hidden_labels(project_id)
    photos, _ = repos.review.detection_scorers.reviewed_photos(project_id, hidden, MAX_PHOTOS)
    insects = sum(len(p.insects) for p in photos)
    nights = {night(p) for p in photos if p.insects}
    if insects < MIN_INSECT_BOXES or len(nights) < 2:
        rejected = sum(len(p.rejected) for p in photos)
        raise InvalidInput(
            f"too few box reviews: people confirmed or drew {insects} boxes on photos of "
            f"{len(nights)} nights, and rejected {rejected}; a scorer needs at least "
            f"{MIN_INSECT_BOXES} confirmed or drawn boxes on photos of at least 2 nights. "
            "Review the boxes of more photos (confirm, reject, draw what was missed) and try "
            "again",
            field="name",
        )
    return photos


def night(photo: PhotoReviews) -> Hashable:
    """What a photo is held out with: its event, or itself when it is in none."""
    return ("event", photo.event_id) if photo.event_id is not None else ("photo", photo.image_id)


def fit_scorer(
    db: Database,
    store: BlobStore,
    limits: DecodeLimits,
    scorer_id: int,
    holder: str,
    clock: Clock,
) -> bool | None:
    """Fit a scorer ``holder`` has claimed and store it: True when stored, None when it is
    gone or no longer ``holder``'s; InvalidInput when the reviews will not do."""

    def progress(stage: str, share: float) -> None:
        with db.write() as repos:
            repos.review.detection_scorers.progressed(scorer_id, holder, stage, round(share, 4))

    progress("reading the reviewed photos", 0.0)
    with db.read() as repos:
        found = repos.review.detection_scorers.get(scorer_id)
        if found is None:
            return None
        hidden = repos.taxa.taxa.hidden_labels(found.project_id)
        listed, latest = repos.review.detection_scorers.reviewed_photos(
            found.project_id, hidden, MAX_PHOTOS
        )
    photos, unread = [], 0
    for number, photo in enumerate(listed):
        progress(
            f"finding blobs on photo {number + 1} of {len(listed)}", 0.5 * number / len(listed)
        )
        try:
            photos.append(_reviewed(store, limits, photo))
        except (TraplineError, OSError) as exc:
            log.warning(
                "detection scorer %s: photo %s unreadable: %s", scorer_id, photo.image_id, exc
            )
            unread += 1
    try:
        fitted = cross_validate(photos, progress=lambda s, share: progress(s, 0.5 + share / 2))
    except ValueError as exc:
        raise InvalidInput(f"too few box reviews: {exc}") from exc
    results = scorer_results(fitted, unread)
    on = ScorerFitted(
        weights=fitted.weights.as_dict(),
        results=results,
        photos=fitted.photos,
        insects=fitted.insects,
        others=fitted.others,
        latest_review_id=latest or 0,
    )
    with db.write() as repos:
        stored = repos.review.detection_scorers.fitted(scorer_id, holder, clock.now(), on)
    return True if stored else None


def decoded(store: BlobStore, limits: DecodeLimits, image_id: int, key: str) -> SourceImage:
    """A stored photo decoded upright for ``moth-blobs``, at most ``DECODE_SIDE`` on its long
    side; boxes come back to the stored photo's pixels through ``SourceImage.to_original``."""
    with store.opened(key) as stream:
        pixels, size = upright_pixels(stream, lambda side: min(side, DECODE_SIDE), limits=limits)
    rgb = pixels if pixels.mode == "RGB" else pixels.convert("RGB")
    return SourceImage(id=str(image_id), image=rgb, original_size=size)


def _reviewed(store: BlobStore, limits: DecodeLimits, photo: PhotoReviews) -> ReviewedPhoto:
    image = decoded(store, limits, photo.image_id, photo.storage_key)
    candidates = tuple(
        (image.to_original(box), features) for box, features in scan(image.image).candidates
    )
    return ReviewedPhoto(photo.image_id, night(photo), candidates, photo.insects, photo.rejected)


def scorer_results(fitted: ScorerFit, unread: int) -> dict[str, Any]:
    """A scorer's held-out figures as stored (and answered): per fold and over every fold,
    before (the weights moth-blobs comes with) and after."""
    return {
        "folds": [
            {
                "nights": len(f.groups),
                "photos": len(f.photos),
                "before": f.before.as_dict(),
                "after": f.after.as_dict(),
            }
            for f in fitted.folds
        ],
        "before": fitted.before.as_dict(),
        "after": fitted.after.as_dict(),
        "default_weights": ScorerWeights.default().as_dict(),
        "whole_photos": fitted.whole_photos,
        "unreadable_photos": unread,
    }


def _check_name(repos: Repos, project_id: int, name: str) -> None:
    if repos.review.detection_scorers.named(project_id, name):
        raise Conflict(f"name: project {project_id} has a detection scorer named {name!r}")
