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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: The highest cost at which two detections are taken for one individual.
COST_THRESHOLD = 1.5
#: Costs above this are never chosen; an assignment to one is no link.
_NO_LINK = 1e6


@dataclass(frozen=True)
class Sighting:
    """A detection taking part in tracking: its box in pixels and its appearance vector."""

    id: int
    x1: float
    y1: float
    x2: float
    y2: float
    #: The pipeline's feature vector, or None when it posted none.
    features: tuple[float, ...] | None = None
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
    pair = (a.features, b.features)
    if pair[0] is None or pair[1] is None or len(pair[0]) != len(pair[1]):
        pair = (a.descriptor, b.descriptor)
    first, second = pair
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
    once: the same four terms over arrays."""
    a, b = _boxes(earlier.sightings), _boxes(later.sightings)
    width = np.clip(
        np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None
    )
    height = np.clip(
        np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None
    )
    inter = width * height
    area_a = (np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None))[:, None]
    area_b = (np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None))[None, :]
    union = area_a + area_b - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    larger = np.maximum(area_a, area_b)
    ratio = np.divide(np.minimum(area_a, area_b), larger, out=np.ones_like(inter), where=larger > 0)
    centres_a = (a[:, :2] + a[:, 2:]) / 2
    centres_b = (b[:, :2] + b[:, 2:]) / 2
    distance = np.hypot(*(centres_b[None, :, :] - centres_a[:, None, :]).transpose(2, 0, 1))
    diagonal = max(earlier.diagonal, later.diagonal)
    alike = _similarities(earlier.sightings, later.sightings)
    total: np.ndarray = (1 - iou) + (1 - ratio) + np.minimum(distance / diagonal, 1.0) + (1 - alike)
    return total


def _boxes(sightings: Sequence[Sighting]) -> np.ndarray:
    return np.array([(s.x1, s.y1, s.x2, s.y2) for s in sightings], dtype=float).reshape(-1, 4)


def _similarities(earlier: Sequence[Sighting], later: Sequence[Sighting]) -> np.ndarray:
    """``similarity`` of every pair: by the pipeline's features where both have them (of one
    length), else by descriptors, else 0."""
    found = np.zeros((len(earlier), len(later)))
    done = np.zeros_like(found, dtype=bool)
    for kind in ("features", "descriptor"):
        left, right = _unit(earlier, kind), _unit(later, kind)
        for length in set(left) & set(right):
            rows, a = left[length]
            columns, b = right[length]
            block = np.ix_(rows, columns)
            fresh = ~done[block]
            found[block] = np.where(fresh, np.clip(a @ b.T, 0.0, 1.0), found[block])
            done[block] = True
    return found


def _unit(sightings: Sequence[Sighting], kind: str) -> dict[int, tuple[list[int], np.ndarray]]:
    """The sightings' vectors of one kind, scaled to unit length (zero vectors stay zero),
    grouped by length: (their positions, the vectors)."""
    groups: dict[int, tuple[list[int], list[tuple[float, ...]]]] = {}
    for n, s in enumerate(sightings):
        vector = getattr(s, kind)
        if vector is not None:
            positions, vectors = groups.setdefault(len(vector), ([], []))
            positions.append(n)
            vectors.append(vector)
    out = {}
    for length, (positions, vectors) in groups.items():
        matrix = np.asarray(vectors, dtype=float)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        out[length] = (
            positions,
            np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0),
        )
    return out


def pair(
    earlier: Frame, later: Frame, threshold: float = COST_THRESHOLD
) -> list[tuple[int, int, float]]:
    """The links between two consecutive photos: (earlier id, later id, cost), each detection
    in at most one, chosen to minimise the total cost."""
    if not earlier.sightings or not later.sightings:
        return []
    # Imported here: SciPy's optimiser takes a good part of a second to import, which every
    # server start would pay for a duty that may never run.
    from scipy.optimize import linear_sum_assignment

    found = costs(earlier, later)
    # Pairs over the threshold may not be linked: priced out of the assignment, so that a
    # cheap link is never given up for a total that counts a forbidden one.
    priced = np.where(found <= threshold, found, _NO_LINK)
    rows, columns = linear_sum_assignment(priced)
    return [
        (earlier.sightings[r].id, later.sightings[c].id, float(found[r, c]))
        for r, c in zip(rows, columns, strict=True)
        if found[r, c] <= threshold
    ]


def track(
    frames: Sequence[Frame], threshold: float = COST_THRESHOLD
) -> list[list[tuple[int, float | None]]]:
    """The occurrences of an event's photos (in capture order): each a list of (detection id,
    the cost of its link to the one before, None for the first), in photo order; every
    sighting is in exactly one."""
    chain_of: dict[int, list[tuple[int, float | None]]] = {}
    chains: list[list[tuple[int, float | None]]] = []
    for index, frame in enumerate(frames):
        links = pair(frames[index - 1], frame, threshold) if index else []
        linked = {later: (earlier, cost) for earlier, later, cost in links}
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
