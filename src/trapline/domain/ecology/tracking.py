"""Tracking: the detections of one individual in consecutive photos of an event, linked.

Between each pair of consecutive photos, every detection of the earlier photo is paired with at
most one of the later photo by an optimal assignment (the Hungarian method) over a cost that
adds four terms, each from 0 (alike) to 1 (unlike):

- ``1 - IoU`` of the two boxes (overlap);
- ``1 - smaller area / larger area`` (size);
- the distance between the boxes' centres over the photo's diagonal (position);
- ``1 - cosine similarity`` of the two detections' appearance vectors, clipped to [0, 1]: the
  pipeline's feature vector when it posts one for both, the crop's colour descriptor otherwise.

A pair is linked only when its cost is at most the threshold, ``COST_THRESHOLD`` unless the
caller names another: 1.5, fitted on hand-labelled scenes by leaving one scene out
(``benchmarks/tracking.py``; AMI Data Companion links moths at 1.0, which splits a heron
folding its wings, 1.3, and a moth that turned a quarter, 0.94 with a tight box beside it). A
still insect costs close to 0 (same box, same look); two different insects side by side cost
1.5 and more once the descriptor looks past the sheet they share.

Photos of a few hundred boxes have every pair costed in one matrix and assigned at once.
Past that, memory and time follow the pairs that could be linked (``tracking_links``): two
boxes that do not overlap cost at least 1 plus their distance term, so they are only costed
when that leaves them under the threshold (their centres sorted along x, the pairs outside
reach never formed), a few later boxes at a time, and the assignment is made over each
connected group of possible links apart. At most ``MAX_BOXES`` boxes of a photo take part:
the others are left out of every occurrence and counted (``Tracks.left_out``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trapline.domain.ecology.tracking_links import (
    DENSE_PAIRS,
    Boxes,
    assign,
    assign_dense,
    dense_costs,
    possible_links,
)

#: The highest cost at which two detections are taken for one individual.
COST_THRESHOLD = 1.5
#: Boxes of one photo that take part in tracking: the first ones in the order given (a
#: detector lists its surest first). A light-trap sheet on its busiest night holds a few
#: hundred insects; a photo past this (a detector gone wrong: two of 8,000 boxes took a
#: server from 812 MiB to 6.2 GB) has the rest left out, counted in ``Tracks.left_out``. At
#: this many, linking two photos of lookalikes (every pair within reach a possible link, the
#: worst case) adds well under 200 MB (``tests/unit/test_tracking_bounds.py``).
MAX_BOXES = 1_000


@dataclass(frozen=True)
class Sighting:
    """A detection taking part in tracking: its box in pixels and its appearance vector."""

    id: int
    x1: float
    y1: float
    x2: float
    y2: float
    #: The pipeline's feature vector, or None when it posted none.
    features: Sequence[float] | None = None
    #: A colour descriptor of the crop (``imaging``), used when features are missing.
    descriptor: tuple[float, ...] | None = None

    @property
    def area(self) -> float:
        return max(self.x2 - self.x1, 0.0) * max(self.y2 - self.y1, 0.0)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2


@dataclass(frozen=True)
class Frame:
    """One photo of an event, in capture order: its size and its sightings."""

    image_id: int
    width: int
    height: int
    sightings: tuple[Sighting, ...]

    @property
    def diagonal(self) -> float:
        return math.hypot(self.width, self.height) or 1.0


class Tracks(list[list[tuple[int, float | None]]]):
    """The occurrences of an event's photos (each a chain of detections, as ``track`` says),
    and the sightings left out of them: by photo, how many were past ``MAX_BOXES``."""

    def __init__(self, left_out: dict[int, int] | None = None) -> None:
        super().__init__()
        self.left_out: dict[int, int] = left_out or {}


def overlap(a: Sighting, b: Sighting) -> float:
    """Intersection over union of two boxes."""
    width = min(a.x2, b.x2) - max(a.x1, b.x1)
    height = min(a.y2, b.y2) - max(a.y1, b.y1)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def size_ratio(a: Sighting, b: Sighting) -> float:
    """The smaller box's area over the larger's (1 for boxes of one size)."""
    larger = max(a.area, b.area)
    return min(a.area, b.area) / larger if larger > 0 else 1.0


def similarity(a: Sighting, b: Sighting) -> float:
    """Cosine similarity of two appearance vectors, clipped to [0, 1]; the pipeline's features
    when both have them, else the crops' descriptors, else 0 (nothing says they look alike)."""
    pair_ = (a.features, b.features)
    if pair_[0] is None or pair_[1] is None or len(pair_[0]) != len(pair_[1]):
        pair_ = (a.descriptor, b.descriptor)
    first, second = pair_
    if first is None or second is None or len(first) != len(second):
        return 0.0
    u, v = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    norms = float(np.linalg.norm(u) * np.linalg.norm(v))
    if norms == 0:
        return 0.0
    return float(np.clip(np.dot(u, v) / norms, 0.0, 1.0))


def cost(a: Sighting, b: Sighting, diagonal: float) -> float:
    """How unlike two detections in consecutive photos are: 0 (the same) to 4."""
    (ax, ay), (bx, by) = a.centre, b.centre
    distance = math.hypot(bx - ax, by - ay) / diagonal
    return (
        (1 - overlap(a, b)) + (1 - size_ratio(a, b)) + min(distance, 1.0) + (1 - similarity(a, b))
    )


def costs(earlier: Frame, later: Frame) -> np.ndarray:
    """``cost`` of every pair of the two photos' sightings (rows: the earlier photo's), all at
    once: the same four terms over arrays. For small photos and checks: it holds every pair."""
    return dense_costs(_boxes(earlier), _boxes(later), max(earlier.diagonal, later.diagonal))


def pair(
    earlier: Frame, later: Frame, threshold: float = COST_THRESHOLD
) -> list[tuple[int, int, float]]:
    """The links between two consecutive photos: (earlier id, later id, cost), each detection
    in at most one, chosen to minimise the total cost (the most links first, as pairs over the
    threshold are priced out of the assignment)."""
    if not earlier.sightings or not later.sightings:
        return []
    a, b = _boxes(earlier), _boxes(later)
    diagonal = max(earlier.diagonal, later.diagonal)
    ids, later_ids = [s.id for s in earlier.sightings], [s.id for s in later.sightings]
    if len(a) * len(b) <= DENSE_PAIRS:  # a few hundred boxes: every pair, in one matrix
        matrix = dense_costs(a, b, diagonal)
        return [
            (ids[r], later_ids[c], float(matrix[r, c])) for r, c in assign_dense(matrix, threshold)
        ]
    rows, columns, found = possible_links(a, b, diagonal, threshold)
    return [
        (ids[r], later_ids[c], float(found[k]))
        for r, c, k in assign(rows, columns, found, len(a), len(b))
    ]


def _boxes(frame: Frame) -> Boxes:
    s = frame.sightings
    return Boxes(
        np.array([(x.x1, x.y1, x.x2, x.y2) for x in s], dtype=float).reshape(-1, 4),
        [x.features for x in s],
        [x.descriptor for x in s],
    )


def track(
    frames: Sequence[Frame], threshold: float = COST_THRESHOLD, *, max_boxes: int = MAX_BOXES
) -> Tracks:
    """The occurrences of an event's photos (in capture order): each a list of (detection id,
    the cost of its link to the one before, None for the first), in photo order. Every
    sighting of the first ``max_boxes`` of each photo is in exactly one; the others in none,
    counted by photo in ``left_out``."""
    chain_of: dict[int, list[tuple[int, float | None]]] = {}
    chains = Tracks()
    taking_part = []
    for frame in frames:
        if len(frame.sightings) > max_boxes:
            chains.left_out[frame.image_id] = len(frame.sightings) - max_boxes
            frame = Frame(frame.image_id, frame.width, frame.height, frame.sightings[:max_boxes])
        taking_part.append(frame)
    for index, frame in enumerate(taking_part):
        links = pair(taking_part[index - 1], frame, threshold) if index else []
        linked = {later: (earlier, cost_) for earlier, later, cost_ in links}
        for sighting in frame.sightings:
            link = linked.get(sighting.id)
            if link is None:
                chain: list[tuple[int, float | None]] = [(sighting.id, None)]
                chains.append(chain)
            else:
                chain = chain_of[link[0]]
                chain.append((sighting.id, link[1]))
            chain_of[sighting.id] = chain
    return chains
