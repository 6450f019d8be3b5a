"""Succession: which detection of new results continues a detection of earlier ones.

When new results replace a pipeline's results on the same photos (a re-run with
``reprocess``, a new version becoming current, a pin moved back), what people did with the
earlier detections follows each to its *successor*: the detection of the same pipeline on the
same photo whose box overlaps it most, with an intersection over union of at least
``SUCCESSION_IOU``, each detection succeeding at most one (the best overlaps are paired
first). People's identifications move to the successor, a reviewer's split or merge is kept
when every detection of it has one, and an occurrence keeps its id when its detections
continue in a new occurrence (the one holding most of them).

0.5 is the overlap at which object detection's own benchmarks (PASCAL VOC, COCO's AP50) take
two boxes for one object. A re-run of the same model gives the same boxes (an overlap of 1);
a box that overlaps less is taken for another object. What has no successor is listed,
never dropped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: The least overlap (intersection over union) at which a new detection continues an
#: earlier one on the same photo.
SUCCESSION_IOU = 0.5
#: Earlier boxes compared at once (bounds the memory of a photo with thousands of boxes).
_BLOCK = 512


@dataclass(frozen=True)
class Placed:
    """A detection where succession looks: its photo, its pipeline and its box."""

    id: int
    image_id: int
    pipeline: str
    box: tuple[float, float, float, float]


def successors(
    earlier: Sequence[Placed], current: Sequence[Placed], threshold: float = SUCCESSION_IOU
) -> dict[int, int]:
    """Each earlier detection's successor among the current ones (earlier id -> current id);
    those without one are left out."""
    now: dict[tuple[int, str], list[Placed]] = defaultdict(list)
    for placed in current:
        now[placed.image_id, placed.pipeline].append(placed)
    before: dict[tuple[int, str], list[Placed]] = defaultdict(list)
    for placed in earlier:
        before[placed.image_id, placed.pipeline].append(placed)
    found: dict[int, int] = {}
    for key, old in before.items():
        if key in now:
            found |= _pair(old, now[key], threshold)
    return found


def _pair(old: Sequence[Placed], new: Sequence[Placed], threshold: float) -> dict[int, int]:
    """Greedy one-to-one pairing of two sets of boxes on one photo, best overlaps first."""
    b = np.array([p.box for p in new], dtype=float).reshape(-1, 4)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    pairs: list[tuple[float, int, int]] = []
    for start in range(0, len(old), _BLOCK):
        a = np.array([p.box for p in old[start : start + _BLOCK]], dtype=float).reshape(-1, 4)
        width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
        height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
        inter = np.clip(width, 0, None) * np.clip(height, 0, None)
        area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
        union = area_a[:, None] + area_b[None, :] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        rows, columns = np.nonzero(iou >= threshold)
        pairs += [
            (float(iou[r, c]), start + int(r), int(c)) for r, c in zip(rows, columns, strict=True)
        ]
    found: dict[int, int] = {}
    taken: set[int] = set()
    for _, r, c in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if old[r].id not in found and c not in taken:
            found[old[r].id] = new[c].id
            taken.add(c)
    return found


def inherited_ids(
    made: Sequence[frozenset[int]],
    stored: Mapping[int, Sequence[int]],
    succession: Mapping[int, int],
) -> dict[int, int]:
    """Which stored occurrence each new one continues (position in ``made`` -> stored id):
    the stored occurrence whose detections, followed to their successors (a detection still
    current is its own), it holds most of; largest shares first, one to one (ties: the
    older occurrence)."""
    shares: list[tuple[int, int, int]] = []
    for occurrence_id, members in stored.items():
        continued = {succession.get(m, m) for m in members}
        for position, detections in enumerate(made):
            shared = len(continued & detections)
            if shared:
                shares.append((shared, occurrence_id, position))
    found: dict[int, int] = {}
    used: set[int] = set()
    for _, occurrence_id, position in sorted(shares, key=lambda s: (-s[0], s[1], s[2])):
        if position not in found and occurrence_id not in used:
            found[position] = occurrence_id
            used.add(occurrence_id)
    return found
