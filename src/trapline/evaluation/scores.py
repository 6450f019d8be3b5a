"""A photo's score: its truth, the predictions and their matching at each IoU threshold, its
recall by the size of the true boxes, and the boxes that merge or split objects."""

from __future__ import annotations

import math
from dataclasses import dataclass

from trapline.evaluation.metrics import Counts, Matching, Prediction, inside, long_side
from trapline.evaluation.truth import TruthImage

#: IoU thresholds every report gives figures at.
IOU_THRESHOLDS = (0.3, 0.5)
#: Bands of true boxes by their long side in the photo's pixels: small insects (17-30 px on a
#: 4K photo are what a reduced pass loses), most insects, large ones.
SIZE_BANDS = (
    (0.0, 30.0, "under 30 px"),
    (30.0, 100.0, "30-100 px"),
    (100.0, math.inf, "over 100 px"),
)
#: A box lies in another when at least this share of its area does.
MOSTLY = 0.5


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

    def by_size(self, threshold: float) -> list[tuple[int, int]]:
        """Per ``SIZE_BANDS`` band: true boxes found at IoU ``threshold``, and true boxes."""
        found = self.matchings[threshold].found
        bands = []
        for low, high, _ in SIZE_BANDS:
            within = [i for i, r in enumerate(self.truth.objects) if low <= long_side(r) < high]
            bands.append((sum(1 for i in within if found[i]), len(within)))
        return bands

    @property
    def merged(self) -> int:
        """Predictions that hold two or more true objects (each mostly inside): touching
        insects boxed as one."""
        return sum(
            1
            for p in self.predictions
            if sum(1 for r in self.truth.objects if inside(r, p.rect) >= MOSTLY) >= 2
        )

    @property
    def split(self) -> int:
        """True objects that two or more predictions lie mostly inside: one insect boxed in
        parts."""
        return sum(
            1
            for r in self.truth.objects
            if sum(1 for p in self.predictions if inside(p.rect, r) >= MOSTLY) >= 2
        )
