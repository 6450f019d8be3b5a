"""Box overlap and class-wise non-maximum suppression, in numpy."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]


def iou(box: FloatArray, others: FloatArray) -> FloatArray:
    """Intersection over union of one ``(x1, y1, x2, y2)`` box with each row of ``others``."""
    left = np.maximum(box[0], others[:, 0])
    top = np.maximum(box[1], others[:, 1])
    right = np.minimum(box[2], others[:, 2])
    bottom = np.minimum(box[3], others[:, 3])
    overlap = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    union = area + areas - overlap
    return np.where(union > 0, overlap / np.where(union > 0, union, 1), 0).astype(np.float32)


def non_max_suppression(
    boxes: FloatArray,
    scores: FloatArray,
    classes: NDArray[np.int64],
    *,
    iou_threshold: float,
    max_boxes: int,
) -> NDArray[np.int64]:
    """Indices of the boxes to keep, best first: of boxes of one class that overlap by more
    than ``iou_threshold``, only the best-scored one stays.

    Boxes are ``(x1, y1, x2, y2)`` rows; boxes of different classes never suppress each other.
    """
    kept = [
        members[_greedy(boxes[members], scores[members], iou_threshold)]
        for members in (np.flatnonzero(classes == label) for label in np.unique(classes))
    ]
    if not kept:
        return np.empty(0, dtype=np.int64)
    survivors = np.concatenate(kept)
    return survivors[np.argsort(-scores[survivors], kind="stable")][:max_boxes].astype(np.int64)


def _greedy(boxes: FloatArray, scores: FloatArray, iou_threshold: float) -> NDArray[np.int64]:
    """Indices kept by greedy suppression among boxes of one class."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        best, rest = int(order[0]), order[1:]
        keep.append(best)
        order = rest[iou(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)
