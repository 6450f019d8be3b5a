"""A photo's score: its truth, the predictions and their matching at each IoU threshold."""

from __future__ import annotations

from dataclasses import dataclass

from trapline.evaluation.metrics import Counts, Matching, Prediction
from trapline.evaluation.truth import TruthImage

#: IoU thresholds every report gives figures at.
IOU_THRESHOLDS = (0.3, 0.5)


@dataclass(frozen=True)
class ImageScore:
    """One photo's truth, predictions and matching at each IoU threshold."""

    truth: TruthImage
    predictions: list[Prediction]
    matchings: dict[float, Matching]
    #: False detections at the lowest threshold whose centre lies in a not-object region.
    on_not_objects: int

    def counts(self, threshold: float) -> Counts:
        """True positives, false positives and misses at IoU ``threshold``."""
        return self.matchings[threshold].counts
