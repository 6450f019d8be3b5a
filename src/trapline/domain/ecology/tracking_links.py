"""Which pairs of two photos' boxes could be linked, what each costs, and the assignment over
them (``tracking.py`` says what the cost is and why).

A pair of boxes that do not overlap costs at least ``1 + distance / diagonal`` (its overlap
term is 1, the others at least 0), so under a threshold ``t`` it can only be a link when its
centres are within ``(t - 1) x diagonal``; overlapping boxes are within half their widths
along x. The earlier photo's centres are sorted along x and, a few later boxes at a time, only
the pairs within that reach are formed and costed; only those at most ``t`` are kept. At
``t = 1.5`` the reach is half the diagonal: boxes from opposite sides of the photo are never
paired, and the boxes per photo that take part are capped (``tracking.MAX_BOXES``) so that
what is left stays bounded.

The assignment is the one a single optimal assignment over every pair makes, with the pairs
over the threshold priced out (the most links, then the least total cost): made over each
connected group of possible links apart, since links of one group never compete with another's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: The price of a pair over the threshold in an assignment: it is never chosen over links.
_NO_LINK = 1e6
#: Pairs costed together, about (a chunk of later boxes against every earlier box in reach).
_PAIRS_PER_STEP = 65_536
#: At most this many pairs in all (a few hundred boxes a photo, ~40 MB of arrays while they
#: are costed), every pair is costed at once and assigned in one matrix, as it always was.
DENSE_PAIRS = 262_144

Vectors = Sequence[Sequence[float] | None]


@dataclass(frozen=True)
class Boxes:
    """The boxes of one photo's sightings (x1, y1, x2, y2 rows) and their appearance vectors."""

    xyxy: np.ndarray
    features: Vectors
    descriptors: Vectors
    area: np.ndarray = field(init=False)
    cx: np.ndarray = field(init=False)
    cy: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        x = self.xyxy
        area = np.clip(x[:, 2] - x[:, 0], 0, None) * np.clip(x[:, 3] - x[:, 1], 0, None)
        centres = (x[:, :2] + x[:, 2:]) / 2
        object.__setattr__(self, "area", area)
        object.__setattr__(self, "cx", centres[:, 0])
        object.__setattr__(self, "cy", centres[:, 1])

    def __len__(self) -> int:
        return len(self.xyxy)


Links = tuple[np.ndarray, np.ndarray, np.ndarray]


def possible_links(a: Boxes, b: Boxes, diagonal: float, threshold: float) -> Links:
    """The pairs (row in ``a``, row in ``b``) that cost at most ``threshold``, and their costs."""
    n, m = len(a), len(b)
    if not n or not m:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty, np.zeros(0)
    reach = max(threshold - 1.0, 0.0) * diagonal
    order = np.argsort(a.cx, kind="stable").astype(np.int32)
    xs = a.cx[order]
    widest = float(np.max(a.xyxy[:, 2] - a.xyxy[:, 0])) / 2
    left = (_units(a.features), _units(a.descriptors))
    step = max(1, _PAIRS_PER_STEP // n)
    found: list[Links] = []
    for start in range(0, m, step):
        stop = min(m, start + step)
        rows, columns = _in_reach(b, start, stop, order, xs, widest, reach)
        alike = _similarities(left, b, start, stop, n)[rows, columns - start]
        p, q = a.xyxy[rows], b.xyxy[columns]
        dx, dy = b.cx[columns] - a.cx[rows], b.cy[columns] - a.cy[rows]
        costs = _costs(p, q, a.area[rows], b.area[columns], dx, dy, alike, diagonal)
        kept = costs <= threshold
        found.append((rows[kept], columns[kept], costs[kept]))
    return (
        np.concatenate([f[0] for f in found]),
        np.concatenate([f[1] for f in found]),
        np.concatenate([f[2] for f in found]),
    )


def _in_reach(
    b: Boxes, start: int, stop: int, order: np.ndarray, xs: np.ndarray, widest: float,
    reach: float,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The pairs of later boxes ``start:stop`` with the earlier boxes whose centres lie within
    reach along x (of a link apart, or of overlapping), the others never formed."""
    half = (b.xyxy[start:stop, 2] - b.xyxy[start:stop, 0]) / 2
    # A hair wider than the bound, so rounding never drops a pair at it; costs decide.
    span = np.maximum(reach, widest + half) * (1 + 1e-9) + 1e-9
    lo = np.searchsorted(xs, b.cx[start:stop] - span, side="left")
    hi = np.searchsorted(xs, b.cx[start:stop] + span, side="right")
    counts = hi - lo
    total = int(counts.sum())
    firsts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    rows = order[firsts + np.arange(total)]
    columns = np.repeat(np.arange(start, stop, dtype=np.int32), counts)
    return rows, columns


def dense_costs(a: Boxes, b: Boxes, diagonal: float) -> np.ndarray:
    """``tracking.cost`` of every pair, as a matrix (rows: ``a``)."""
    alike = _similarities((_units(a.features), _units(a.descriptors)), b, 0, len(b), len(a))
    return _costs(
        a.xyxy[:, None, :], b.xyxy[None, :, :], a.area[:, None], b.area[None, :],
        b.cx[None, :] - a.cx[:, None], b.cy[None, :] - a.cy[:, None], alike, diagonal,
    )  # fmt: skip


def _costs(
    p: np.ndarray, q: np.ndarray, area_a: np.ndarray, area_b: np.ndarray, dx: np.ndarray,
    dy: np.ndarray, alike: np.ndarray, diagonal: float,
) -> np.ndarray:  # fmt: skip
    """``tracking.cost`` over arrays of pairs (boxes ``p`` and ``q``, their areas, the offsets
    of their centres, their similarity), listed or broadcast into a matrix alike."""
    width = np.clip(np.minimum(p[..., 2], q[..., 2]) - np.maximum(p[..., 0], q[..., 0]), 0, None)
    height = np.clip(np.minimum(p[..., 3], q[..., 3]) - np.maximum(p[..., 1], q[..., 1]), 0, None)
    inter = width * height
    union = area_a + area_b - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    larger = np.maximum(area_a, area_b)
    ratio = np.divide(np.minimum(area_a, area_b), larger, out=np.ones_like(inter), where=larger > 0)
    distance = np.hypot(dx, dy)
    total: np.ndarray = (1 - iou) + (1 - ratio) + np.minimum(distance / diagonal, 1.0) + (1 - alike)
    return total


#: Appearance vectors of one kind grouped by length: length -> (positions, unit vectors).
Units = dict[int, tuple[list[int], np.ndarray]]


def _units(vectors: Vectors) -> Units:
    """The vectors scaled to unit length (zero vectors stay zero), grouped by length."""
    groups: dict[int, tuple[list[int], list[Sequence[float]]]] = {}
    for n, vector in enumerate(vectors):
        if vector is not None:
            positions, found = groups.setdefault(len(vector), ([], []))
            positions.append(n)
            found.append(vector)
    out = {}
    for length, (positions, found) in groups.items():
        matrix = np.asarray(found, dtype=float)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        out[length] = (
            positions,
            np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0),
        )
    return out


def _similarities(left: tuple[Units, Units], b: Boxes, start: int, stop: int, n: int) -> np.ndarray:
    """``tracking.similarity`` of every earlier box (``left``: its units, features then
    descriptors) with the later boxes ``start:stop``: by the pipeline's features where both
    have them (of one length), else by descriptors, else 0."""
    found = np.zeros((n, stop - start))
    done = np.zeros_like(found, dtype=bool)
    right = (_units(b.features[start:stop]), _units(b.descriptors[start:stop]))
    for mine, theirs in zip(left, right, strict=True):
        for length in set(mine) & set(theirs):
            rows, p = mine[length]
            columns, q = theirs[length]
            block = np.ix_(rows, columns)
            fresh = ~done[block]
            found[block] = np.where(fresh, np.clip(p @ q.T, 0.0, 1.0), found[block])
            done[block] = True
    return found


def assign_dense(costs: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """The links chosen in a matrix of every pair's cost: (row, column), by row."""
    from scipy.optimize import linear_sum_assignment

    # Pairs over the threshold may not be linked: priced out of the assignment, so that a
    # cheap link is never given up for a total that counts a forbidden one.
    priced = np.where(costs <= threshold, costs, _NO_LINK)
    rows, columns = linear_sum_assignment(priced)
    return [
        (int(r), int(c)) for r, c in zip(rows, columns, strict=True) if costs[r, c] <= threshold
    ]


def assign(
    rows: np.ndarray, columns: np.ndarray, costs: np.ndarray, n: int, m: int
) -> list[tuple[int, int, int]]:
    """The links chosen among the possible ones (of a pair of photos with ``n`` and ``m``
    boxes): (row, column, index of the pair), by row."""
    if not len(costs):
        return []
    # Imported here: SciPy takes a good part of a second to import, which every server start
    # would pay for a duty that may never run.
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(costs)), (rows, n + columns)), shape=(n + m, n + m))
    _, label = connected_components(graph, directed=False)
    of_pair = label[rows]
    by_group = np.argsort(of_pair, kind="stable")
    groups = np.split(by_group, np.flatnonzero(np.diff(of_pair[by_group])) + 1)
    chosen: list[tuple[int, int, int]] = []
    for pairs in groups:
        if len(pairs) == 1:
            k = int(pairs[0])
            chosen.append((int(rows[k]), int(columns[k]), k))
            continue
        here_rows, row_at = np.unique(rows[pairs], return_inverse=True)
        here_columns, column_at = np.unique(columns[pairs], return_inverse=True)
        priced = np.full((len(here_rows), len(here_columns)), _NO_LINK)
        index = np.full(priced.shape, -1, dtype=np.int32)
        priced[row_at, column_at] = costs[pairs]
        index[row_at, column_at] = pairs
        for r, c in zip(*linear_sum_assignment(priced), strict=True):
            if index[r, c] >= 0:
                chosen.append((int(here_rows[r]), int(here_columns[c]), int(index[r, c])))
    chosen.sort()
    return chosen
