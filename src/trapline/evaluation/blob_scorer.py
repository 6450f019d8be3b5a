"""The insect score of ``moth-blobs`` refitted from boxes people judged (decision 073).

``moth-blobs`` scores each candidate blob with a logistic function of its darkness, log size
and standout over the sheet (``blob_classes.insect_score``). Here its four weights are fitted
again on a project's reviewed photos:

- **Examples.** Every candidate blob the detector finds on a photo (fasteners, scale bars and
  labels left out: rules decide them, not the score) is an *insect* when it overlaps a box
  people confirmed or drew at IoU 0.3, and *not an insect* when it overlaps a box they
  rejected, or overlaps nothing on a *whole* photo: one where every blob the detector counts
  with the weights it comes with overlaps a box people judged, so they saw all it puts forward
  and drew what it missed. Elsewhere a blob nobody judged is no example.
- **Fit.** Logistic regression by Newton's method, a light ridge penalty on all but the
  intercept (``fit``).
- **Held out.** Photos are grouped (nights); each fold's photos are scored by weights fitted
  on the other folds only, before (the weights moth-blobs comes with) and after: the boxes the
  pipeline counts matched to people's at IoU 0.5 (``metrics.match``), as an evaluation set
  scores them.

``benchmarks/detection_scorer.py`` runs it leaving one photo out on the shared photos, and the
platform on a project's reviews (``services/review/detection_scorers.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from trapline.evaluation.metrics import Counts, Prediction, Rect, iou, match
from trapline.pipelines.base import Box
from trapline.pipelines.blob_classes import ClassSettings, is_ruled_out
from trapline.pipelines.blob_features import BlobFeatures
from trapline.pipelines.blob_segmentation import BlobSettings
from trapline.pipelines.moth_blobs import classified, counted

#: Overlap at which a candidate blob stands for a person's box when labelled.
LABEL_IOU = 0.3
#: Overlap at which a counted box stands for a person's when scored (as evaluation sets score).
SCORE_IOU = 0.5
#: Ridge penalty on the weights other than the intercept.
RIDGE = 0.1
#: Most folds of the cross-validation (fewer when there are fewer groups).
MAX_FOLDS = 5
#: Least examples of each kind a fit needs.
MIN_EXAMPLES = 5

Candidate = tuple[Box, BlobFeatures]
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class ScorerWeights:
    """The insect score's weights: intercept, darkness, log size over 1% and standout."""

    bias: float
    darkness: float
    size: float
    standout: float

    @classmethod
    def default(cls) -> ScorerWeights:
        """The weights ``moth-blobs`` comes with."""
        s = ClassSettings()
        return cls(s.bias, s.darkness_weight, s.size_weight, s.standout_weight)

    @classmethod
    def of(cls, values: dict[str, float]) -> ScorerWeights:
        """Weights as ``as_dict`` wrote them."""
        return cls(
            float(values["bias"]),
            float(values["darkness"]),
            float(values["size"]),
            float(values["standout"]),
        )

    def as_dict(self) -> dict[str, float]:
        """The weights by name, rounded for storing and showing."""
        return {
            "bias": round(self.bias, 4),
            "darkness": round(self.darkness, 4),
            "size": round(self.size, 4),
            "standout": round(self.standout, 4),
        }

    def settings(self, base: BlobSettings | None = None) -> BlobSettings:
        """``moth-blobs``' settings (``base``, default its own) with these weights."""
        base = base or BlobSettings()
        classes = replace(
            base.classes,
            bias=self.bias,
            darkness_weight=self.darkness,
            size_weight=self.size,
            standout_weight=self.standout,
        )
        return replace(base, classes=classes)


@dataclass(frozen=True)
class ReviewedPhoto:
    """A photo's candidate blobs and what people said of its boxes, in one pixel frame."""

    #: The photo (an id, a file name).
    key: Hashable
    #: What it is held out with (its night).
    group: Hashable
    candidates: tuple[Candidate, ...]
    #: Boxes people confirmed or drew.
    insects: tuple[Rect, ...]
    #: Boxes people rejected.
    rejected: tuple[Rect, ...] = ()
    #: Whether people judged everything on it (``is_whole``); None: work it out.
    whole: bool | None = None

    @property
    def is_whole(self) -> bool:
        """Given, or whether every blob counted with the default weights overlaps a box people
        judged (IoU 0.3)."""
        if self.whole is not None:
            return self.whole
        judged = (*self.insects, *self.rejected)
        return all(
            any(iou(_rect(b), r) >= LABEL_IOU for r in judged)
            for b in counted(classified(self.candidates))
        )


@dataclass(frozen=True)
class Example:
    """A candidate blob as a fit sees it: its photo's group, its features and its label."""

    group: Hashable
    features: BlobFeatures
    insect: bool


@dataclass(frozen=True)
class Scored:
    """Counted boxes against people's: found, false (on a rejected box, a box another took, or
    anywhere on a whole photo), missed, and unjudged (anywhere else)."""

    counts: Counts = field(default_factory=Counts)
    unjudged: int = 0

    def __add__(self, other: Scored) -> Scored:
        return Scored(self.counts + other.counts, self.unjudged + other.unjudged)

    def as_dict(self) -> dict[str, float | int]:
        """The tallies and the two figures."""
        c = self.counts
        return {
            "true_positives": c.true_positives,
            "false_positives": c.false_positives,
            "misses": c.misses,
            "unjudged": self.unjudged,
            "precision": round(c.precision, 4),
            "recall": round(c.recall, 4),
        }


@dataclass(frozen=True)
class Fold:
    """One fold: its photos, the weights fitted without them, and their boxes scored before and
    after."""

    groups: tuple[Hashable, ...]
    photos: tuple[Hashable, ...]
    weights: ScorerWeights
    before: Scored
    after: Scored


@dataclass(frozen=True)
class ScorerFit:
    """The weights fitted on every example, the held-out folds, and what was fitted on."""

    weights: ScorerWeights
    folds: tuple[Fold, ...]
    insects: int
    others: int
    photos: int
    whole_photos: int

    @property
    def before(self) -> Scored:
        """Every held-out photo scored with the default weights."""
        return sum((f.before for f in self.folds), Scored())

    @property
    def after(self) -> Scored:
        """Every held-out photo scored with the weights fitted without its fold."""
        return sum((f.after for f in self.folds), Scored())


def examples(photos: Sequence[ReviewedPhoto]) -> list[Example]:
    """Every candidate blob of ``photos`` labelled by people's boxes; blobs nobody judged on a
    photo that is not whole, and fasteners, scale bars and labels, left out."""
    found = []
    for photo in photos:
        whole = photo.is_whole
        boxes = [Prediction(_rect(b)) for b, _ in photo.candidates]
        matching = match(boxes, list(photo.insects), LABEL_IOU)
        for (box, features), hit in zip(photo.candidates, matching.matches, strict=True):
            if is_ruled_out(features):
                continue
            if hit is not None:
                found.append(Example(photo.group, features, True))
            elif whole or any(iou(_rect(box), r) >= LABEL_IOU for r in photo.rejected):
                found.append(Example(photo.group, features, False))
    return found


def design(chosen: Sequence[Example]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The regression's inputs (1, darkness, log size over 1%, standout) and labels."""
    rows = [
        [
            1.0,
            e.features.darkness,
            math.log(max(e.features.size, 1e-6) / 0.01),
            e.features.standout,
        ]
        for e in chosen
    ]
    inputs = np.array(rows, dtype=np.float64).reshape(len(rows), 4)
    return inputs, np.array([1.0 if e.insect else 0.0 for e in chosen])


def fit(chosen: Sequence[Example], ridge: float = RIDGE) -> ScorerWeights:
    """Logistic regression weights by Newton's method; the intercept is not penalised."""
    inputs, labels = design(chosen)
    weights = np.zeros(inputs.shape[1])
    penalty = ridge * np.eye(len(weights))
    penalty[0, 0] = 0.0
    for _ in range(100):
        chance = 1.0 / (1.0 + np.exp(-np.clip(inputs @ weights, -60.0, 60.0)))
        gradient = inputs.T @ (labels - chance) - penalty @ weights
        hessian = inputs.T @ (inputs * (chance * (1 - chance))[:, None]) + penalty
        step = np.linalg.solve(hessian + 1e-9 * np.eye(len(weights)), gradient)
        weights = weights + step
        if float(np.max(np.abs(step))) < 1e-9:
            break
    return ScorerWeights(*(float(w) for w in weights))


def scored(photo: ReviewedPhoto, weights: ScorerWeights) -> Scored:
    """The boxes ``moth-blobs`` counts on ``photo`` with ``weights``, against people's at
    IoU 0.5."""
    settings = weights.settings()
    boxes = counted(classified(photo.candidates, settings), settings)
    predictions = [Prediction(_rect(b), b.score) for b in boxes]
    matching = match(predictions, list(photo.insects), SCORE_IOU)
    whole, judged = photo.is_whole, (*photo.insects, *photo.rejected)
    false = unjudged = 0
    for p, matched in zip(predictions, matching.matches, strict=True):
        if matched is not None:
            continue
        if whole or any(iou(p.rect, r) >= SCORE_IOU for r in judged):
            false += 1
        else:
            unjudged += 1
    hits = len(predictions) - false - unjudged
    return Scored(Counts(hits, false, matching.found.count(False)), unjudged)


def folds_of(photos: Sequence[ReviewedPhoto], most: int = MAX_FOLDS) -> list[list[Hashable]]:
    """The groups of each fold: groups in order of first appearance, dealt round the folds."""
    groups = list(dict.fromkeys(p.group for p in photos))
    count = min(most, len(groups))
    return [groups[n::count] for n in range(count)]


def shortfall(found: Sequence[Example], folds: Sequence[Sequence[Hashable]]) -> str | None:
    """What the examples lack for a fit cross-validated over ``folds``, or None."""
    insects = sum(e.insect for e in found)
    others = len(found) - insects
    if len(folds) < 2:
        return (
            f"the reviewed photos are of {len(folds)} night{'' if len(folds) == 1 else 's'}: "
            "review boxes on photos of at least 2 nights, so one can be held out while the "
            "others teach"
        )
    if insects < MIN_EXAMPLES or others < MIN_EXAMPLES:
        return (
            f"the reviewed photos give {insects} blobs that are insects (confirmed or drawn "
            f"boxes) and {others} that are not (rejected boxes, or blobs on photos whose every "
            f"box was reviewed); at least {MIN_EXAMPLES} of each are needed"
        )
    for held in folds:
        rest = [e for e in found if e.group not in held]
        if all(e.insect for e in rest) or not any(e.insect for e in rest):
            return (
                "insects and blobs that are not must each be on photos of at least 2 nights "
                "(the fit without one night needs both)"
            )
    return None


def cross_validate(
    photos: Sequence[ReviewedPhoto],
    *,
    ridge: float = RIDGE,
    most_folds: int = MAX_FOLDS,
    progress: Progress | None = None,
) -> ScorerFit:
    """Weights fitted on every example, and each fold scored by weights fitted without it.

    Raises:
        ValueError: the examples are too few (``shortfall`` says what is missing).
    """
    found = examples(photos)
    folds = folds_of(photos, most_folds)
    missing = shortfall(found, folds)
    if missing is not None:
        raise ValueError(missing)
    default = ScorerWeights.default()
    done = []
    for number, held in enumerate(folds):
        if progress is not None:
            progress(f"fold {number + 1} of {len(folds)}", number / (len(folds) + 1))
        weights = fit([e for e in found if e.group not in held], ridge)
        kept = [p for p in photos if p.group in held]
        before = sum((scored(p, default) for p in kept), Scored())
        after = sum((scored(p, weights) for p in kept), Scored())
        done.append(Fold(tuple(held), tuple(p.key for p in kept), weights, before, after))
    if progress is not None:
        progress("the last fit, on every example", len(folds) / (len(folds) + 1))
    insects = sum(e.insect for e in found)
    return ScorerFit(
        weights=fit(found, ridge),
        folds=tuple(done),
        insects=insects,
        others=len(found) - insects,
        photos=len(photos),
        whole_photos=sum(p.is_whole for p in photos),
    )


def _rect(box: Box) -> Rect:
    return (box.x1, box.y1, box.x2, box.y2)
