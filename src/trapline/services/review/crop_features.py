"""Trapline's crop descriptors standing in for a model's features (decision 074).

Where a pipeline posts no feature vectors (MegaDetector, blob detectors, imported results), a
refit may read ``crops:<slug>``: each box of that pipeline is described from its photo's pixels
(``imaging/descriptors.crop_descriptors``: the foreground's colour histogram and mean colour,
the box's size, the insect's elongation and pattern). This module is the one place that turns
boxes into those descriptors, for the fit, for a promoted refit's job and for its scores: it
reads where the boxes are, then opens each photo once for all its boxes (one reduced decode).
A photo that cannot be read leaves its boxes undescribed (logged): the fit goes on without
them, a promoted refit's job leaves them unnamed, and a score counts them in ``no_vector``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby

import numpy as np

from trapline.db.engine import Database
from trapline.db.repositories.review.crop_boxes import CropBox
from trapline.errors import TraplineError
from trapline.evaluation.heads import Floats
from trapline.imaging.descriptors import CROP_LENGTH, crop_descriptors
from trapline.imaging.limits import DecodeLimits
from trapline.imaging.probe import DEFAULT_LIMITS
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: Photos described between two reports of progress.
REPORT_EVERY = 25


@dataclass(frozen=True)
class Photos:
    """Where the photos are read from: the platform's blob store and its decode limits."""

    store: BlobStore
    limits: DecodeLimits = DEFAULT_LIMITS


def describe(
    db: Database,
    photos: Photos,
    boxes: Sequence[int],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[int], Floats]:
    """The boxes among ``boxes`` (annotation ids) that could be described, in their order, and
    their crop descriptors as one array of 4-byte floats, a row each. ``progress`` is told
    (photos done, photos in all) as the photos are read."""
    with db.read() as repos:
        places = repos.review.crop_boxes.places(boxes)
    return described(photos, places, boxes, progress)


def described(
    photos: Photos,
    places: Sequence[CropBox],
    boxes: Sequence[int],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[int], Floats]:
    """``describe`` of boxes (distinct) whose ``places`` (``repos.review.crop_boxes.places``) are
    read. Each descriptor goes straight into its row of the array (71 four-byte floats: 100,000
    boxes take 28 MB)."""
    row_of = {box: n for n, box in enumerate(boxes)}
    matrix = np.zeros((len(boxes), CROP_LENGTH), dtype=np.float32)
    done_rows = np.zeros(len(boxes), dtype=bool)
    by_photo = [(image, list(found)) for image, found in groupby(places, lambda p: p.image_id)]
    for done, (image_id, found) in enumerate(by_photo):
        if progress is not None and done % REPORT_EVERY == 0:
            progress(done, len(by_photo))
        try:
            with photos.store.opened(found[0].storage_key) as stream:
                vectors = crop_descriptors(stream, [p.box for p in found], limits=photos.limits)
        except (TraplineError, OSError) as exc:
            log.warning("crop descriptors: photo %s unreadable, its boxes left out: %s",
                        image_id, exc)  # fmt: skip
            continue
        for place, vector in zip(found, vectors, strict=True):
            row = row_of[place.annotation_id]
            matrix[row], done_rows[row] = vector, True
    if progress is not None:
        progress(len(by_photo), len(by_photo))
    if done_rows.all():
        return list(boxes), matrix
    kept = [box for box, ok in zip(boxes, done_rows.tolist(), strict=True) if ok]
    return kept, matrix[done_rows]
