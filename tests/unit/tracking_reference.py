"""The tracking of decision-free inputs as it was before its pairs were gated and its
assignment made group by group (commit d9dc1f8): every pair costed in one matrix, one
assignment over it. Kept as the reference ``test_tracking_bounds.py`` compares against."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trapline.domain.ecology.tracking import COST_THRESHOLD, Frame, Sighting

_NO_LINK = 1e6


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
