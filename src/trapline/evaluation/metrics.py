"""Precision, recall and F1 of predicted boxes against true ones, at an IoU threshold.

Predictions are matched greedily, most confident first, each to the unmatched true box it
overlaps most (at least ``iou`` intersection over union): the rule of the PASCAL VOC and COCO
evaluations. A matched prediction is a true positive, an unmatched one a false positive, an
unmatched true box a miss.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class Prediction:
    """A predicted box in pixels and its confidence."""

    rect: Rect
    score: float = 1.0


@dataclass(frozen=True)
class Counts:
    """True positives, false positives and misses; precision, recall and F1 follow from them.

    With nothing predicted precision is 1 (nothing claimed wrongly); with nothing to find
    recall is 1 (nothing missed).
    """

    true_positives: int = 0
    false_positives: int = 0
    misses: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.true_positives + other.true_positives,
            self.false_positives + other.false_positives,
            self.misses + other.misses,
        )

    @property
    def precision(self) -> float:
        """Share of predictions that match a true box."""
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        """Share of true boxes that a prediction matches."""
        truth = self.true_positives + self.misses
        return self.true_positives / truth if truth else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class Matching:
    """Which predictions matched (index of their true box, or None) and which truths were found."""

    matches: list[int | None]
    found: list[bool]

    @property
    def counts(self) -> Counts:
        """The matching's true positives, false positives and misses."""
        hits = sum(1 for match in self.matches if match is not None)
        return Counts(hits, len(self.matches) - hits, self.found.count(False))


def iou(a: Rect, b: Rect) -> float:
    """Intersection over union of two boxes (0 for boxes that do not overlap)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / union if union > 0 else 0.0


def inside(inner: Rect, outer: Rect) -> float:
    """Share of ``inner``'s area that lies inside ``outer`` (0 for an empty ``inner``)."""
    width = min(inner[2], outer[2]) - max(inner[0], outer[0])
    height = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    if width <= 0 or height <= 0 or area <= 0:
        return 0.0
    return width * height / area


def long_side(rect: Rect) -> float:
    """The longer side of a box."""
    return max(rect[2] - rect[0], rect[3] - rect[1])


def match(predictions: Sequence[Prediction], truth: Sequence[Rect], threshold: float) -> Matching:
    """Greedy one-to-one matching of ``predictions`` to ``truth`` at IoU ``threshold``."""
    order = sorted(range(len(predictions)), key=lambda i: predictions[i].score, reverse=True)
    matches: list[int | None] = [None] * len(predictions)
    found = [False] * len(truth)
    for index in order:
        best, best_iou = None, threshold
        for number, rect in enumerate(truth):
            if found[number]:
                continue
            overlap = iou(predictions[index].rect, rect)
            if overlap >= best_iou:
                best, best_iou = number, overlap
        if best is not None:
            matches[index] = best
            found[best] = True
    return Matching(matches, found)


def total(counts: Iterable[Counts]) -> Counts:
    """The sum of per-image counts: the overall figures pool every box of every image."""
    summed = Counts()
    for each in counts:
        summed += each
    return summed
