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

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: The least overlap (intersection over union) at which a new detection continues an
#: earlier one on the same photo.
SUCCESSION_IOU = 0.5
#: Earlier boxes compared at once, at most.
_BLOCK = 512
#: Overlaps worked out at once, at most (8 MB an array).
_CELLS = 1 << 20
#: Overlaps kept per earlier box: more than one good successor is rare (a re-run gives the
#: same box again); a photo of thousands of boxes stacked on one another keeps its memory.
_BEST = 8


@dataclass(frozen=True)
class Placed:
    """A detection where succession looks: its photo, its pipeline and its box."""

    id: int
    image_id: int
    pipeline: str
    box: tuple[float, float, float, float]


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two boxes (x1, y1, x2, y2); 0 for boxes that do not
    overlap."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / union if union > 0 else 0.0


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


@dataclass(frozen=True)
class Reviewed:
    """A detection of earlier results that a person reviewed: where it is, the run (analysis)
    that made it, and its latest review."""

    placed: Placed
    run: int
    review_id: int


def carried_reviews(
    reviewed: Sequence[Reviewed], current: Sequence[Placed], threshold: float = SUCCESSION_IOU
) -> dict[int, int]:
    """The review each current detection takes from earlier ones (current id -> review id):
    for counting, the successor of a reviewed detection is taken as reviewed the same way.
    Each earlier run is paired with the current results on its own (``successors``), so a
    box reviewed two runs ago still finds today's; where several hand a review to one
    detection, the latest review counts."""
    by_run: dict[int, list[Reviewed]] = defaultdict(list)
    for r in reviewed:
        by_run[r.run].append(r)
    found: dict[int, int] = {}
    for _, boxes in sorted(by_run.items()):
        review_of = {r.placed.id: r.review_id for r in boxes}
        for old, new in successors([r.placed for r in boxes], current, threshold).items():
            if review_of[old] > found.get(new, 0):
                found[new] = review_of[old]
    return found


def _pair(old: Sequence[Placed], new: Sequence[Placed], threshold: float) -> dict[int, int]:
    """Greedy one-to-one pairing of two sets of boxes on one photo, best overlaps first.

    Only boxes that share some width can overlap: both sets are sorted by their left edges,
    and a block of earlier boxes is compared with the new boxes reaching into its span alone
    (a block small enough that at most ``_CELLS`` overlaps are worked out at once). Each
    earlier box keeps its ``_BEST`` best overlaps, so memory stays bounded however many boxes
    a photo has, even stacked on one another."""
    if not old or not new:
        return {}
    a_all = np.array([p.box for p in old], dtype=float).reshape(-1, 4)
    by_left = np.argsort(a_all[:, 0], kind="stable")
    new_order = np.argsort(np.array([p.box[0] for p in new], dtype=float), kind="stable")
    b_all = np.array([new[i].box for i in new_order], dtype=float).reshape(-1, 4)
    area_all = np.clip(b_all[:, 2] - b_all[:, 0], 0, None) * np.clip(
        b_all[:, 3] - b_all[:, 1], 0, None
    )
    pairs: list[tuple[float, int, int]] = []
    start = 0
    while start < len(by_left):
        size = min(_BLOCK, len(by_left) - start)
        while True:
            rows = by_left[start : start + size]
            a = a_all[rows]
            reach = int(np.searchsorted(b_all[:, 0], a[:, 2].max(), side="left"))
            near = np.nonzero(b_all[:reach, 2] > a[:, 0].min())[0]
            if size == 1 or size * len(near) <= _CELLS:
                break
            size //= 2
        start += size
        if not len(near):
            continue
        b, area_b = b_all[near], area_all[near]
        width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
        height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
        inter = np.clip(width, 0, None) * np.clip(height, 0, None)
        area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
        union = area_a[:, None] + area_b[None, :] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        if len(near) > _BEST:  # the best overlaps of each earlier box, the rest forgotten
            best = np.argpartition(-iou, _BEST - 1, axis=1)[:, :_BEST]
            kept = np.zeros_like(iou, dtype=bool)
            np.put_along_axis(kept, best, True, axis=1)
            iou = np.where(kept, iou, 0.0)
        found_rows, columns = np.nonzero(iou >= threshold)
        pairs += [
            (float(iou[r, c]), int(rows[r]), int(new_order[near[c]]))
            for r, c in zip(found_rows, columns, strict=True)
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
    position_of = {d: position for position, detections in enumerate(made) for d in detections}
    shares: list[tuple[int, int, int]] = []
    for occurrence_id, members in stored.items():
        continued = {succession.get(m, m) for m in members}
        held = Counter(position_of[d] for d in continued if d in position_of)
        shares += [(shared, occurrence_id, position) for position, shared in held.items()]
    found: dict[int, int] = {}
    used: set[int] = set()
    for _, occurrence_id, position in sorted(shares, key=lambda s: (-s[0], s[1], s[2])):
        if position not in found and occurrence_id not in used:
            found[position] = occurrence_id
            used.add(occurrence_id)
    return found
