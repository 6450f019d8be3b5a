"""What tracking compares detections by when their pipeline gave no features: a colour
descriptor of each one's crop, one decode of its photo."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

from trapline.db.repositories.ecology.tracking import Photo
from trapline.domain.ecology.occurrences import Detection
from trapline.errors import TraplineError
from trapline.imaging.descriptors import box_descriptors
from trapline.imaging.limits import DecodeLimits
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)


def appearances(
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
