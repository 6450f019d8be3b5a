"""The classifier stage of ``moth-blobs``: ``moth``, ``other insect`` or ``not an insect``.

No model: a blob's shape and colour features (``blob_features``) decide.

1. **Is it an insect?** A logistic function of the blob's darkness, its size and how far it
   stands out of the sheet's own texture around it gives the chance that a blob is an
   insect. Its weights were fitted (logistic regression, light ridge penalty) on the blobs
   found on the seven light-trap photos of ``data/ground-truth``, labelled by whether they
   match a drawn insect, so the score is calibrated: of blobs scored about 0.7, about 70% are
   insects (``benchmarks/blob_calibration.py`` prints the fit and each photo scored by weights
   fitted on the others). Faint specks, stains and the weave of a coarse sheet score
   low; insects, dark or pale, large or small, score high.
2. **Things that are surely not insects**, whatever their score: the sheet's fasteners (round,
   regular, mostly black, grey, with a pale eyelet in the middle) and scale bars or printed
   labels (grey, and long and thin or rectangular). They are reported as ``not an insect``
   with a low score, so they are labelled rather than counted. Every other blob is labelled
   the insect it would be, with its score: one under the pipeline's threshold is not counted,
   and a lower threshold (``--min-score``, a job's threshold) counts it.
3. **Moth or other insect?** Moths are the larger, broad-winged blobs; small insects (flies,
   midges, beetles) and sparse, leggy ones (crane flies, lacewings) are ``other insect``. This
   split is rough: a small moth is often called ``other insect``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trapline.pipelines.blob_features import BlobFeatures

MOTH, OTHER_INSECT, NOT_AN_INSECT = "moth", "other insect", "not an insect"
#: The labels in the order of every classification's scores.
LABELS = (MOTH, OTHER_INSECT, NOT_AN_INSECT)


@dataclass(frozen=True)
class ClassSettings:
    """The classifier's knobs."""

    #: The pipeline's default threshold: blobs under it are kept, labelled as the insects they
    #: would be, but not counted. At 0.5 about nine blobs in ten that pass are insects.
    threshold: float = 0.5
    #: Logistic weights of the insect score: intercept, darkness, natural log of the blob's
    #: size over 1% of the image, standout over the sheet's texture. Fitted on the shared
    #: photos (see the module docstring).
    bias: float = -2.24
    darkness_weight: float = 3.50
    size_weight: float = 3.14
    standout_weight: float = 6.95
    #: Score given to fasteners, scale bars and labels.
    ruled_out_score: float = 0.05
    #: Fastener: at least this share of its box filled (a disc fills 0.79, a moth about 0.6)...
    fastener_fill: float = 0.72
    #: ...at least this share of it black...
    fastener_black: float = 0.45
    #: ...no more colourful than this (fasteners are grey or black, moths brown)...
    fastener_saturation: float = 0.25
    #: ...with a middle this much paler than the whole (the eyelet), unless the image's edge
    #: cuts the fastener off (its middle is then off the picture).
    fastener_pale_centre: float = 0.1
    #: Scale bar or label: no more colourful than this, and either at least this elongated...
    bar_saturation: float = 0.1
    bar_elongation: float = 4.5
    #: ...or a rectangle: at least this share of its box filled (insects fill at most about
    #: 0.85) and at least this elongated.
    bar_fill: float = 0.88
    bar_rectangle_elongation: float = 2.0
    #: Size (long side over the image's long side) at which a blob is as likely a moth as not.
    moth_size: float = 0.022
    #: Fill of its box under which a blob is sparse and leggy, not a moth.
    moth_fill: float = 0.33


@dataclass(frozen=True)
class Verdict:
    """A blob's label and the scores of ``LABELS``, which add up to 1."""

    label: str
    scores: tuple[float, float, float]

    @property
    def insect(self) -> float:
        """The chance that the blob is an insect (moth or other)."""
        return self.scores[0] + self.scores[1]


def _sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, value))))


def insect_score(features: BlobFeatures, settings: ClassSettings = ClassSettings()) -> float:
    """The calibrated chance that a blob with ``features`` is an insect."""
    if is_ruled_out(features, settings):
        return settings.ruled_out_score
    return _sigmoid(
        settings.bias
        + settings.darkness_weight * features.darkness
        + settings.size_weight * math.log(max(features.size, 1e-6) / 0.01)
        + settings.standout_weight * features.standout
    )


def is_ruled_out(features: BlobFeatures, settings: ClassSettings = ClassSettings()) -> bool:
    """Whether the blob is a fastener, a scale bar or a label."""
    fastener = (
        features.fill >= settings.fastener_fill
        and features.black >= settings.fastener_black
        and features.saturation <= settings.fastener_saturation
        and (features.pale_centre >= settings.fastener_pale_centre or features.at_border)
    )
    rectangle = (
        features.fill >= settings.bar_fill
        and features.elongation >= settings.bar_rectangle_elongation
    )
    bar = features.saturation <= settings.bar_saturation and (
        features.elongation >= settings.bar_elongation or rectangle
    )
    return fastener or bar


def classify(features: BlobFeatures, settings: ClassSettings = ClassSettings()) -> Verdict:
    """The label of a blob with ``features`` and the scores of ``LABELS``."""
    insect = insect_score(features, settings)
    moth_share = _sigmoid((features.size - settings.moth_size) / 0.005) * _sigmoid(
        (features.fill - settings.moth_fill) / 0.05
    )
    scores = (insect * moth_share, insect * (1.0 - moth_share), 1.0 - insect)
    # Only what is surely not an insect is labelled so; a faint blob keeps an insect label
    # and a low score, so a lower threshold counts it.
    if is_ruled_out(features, settings):
        label = NOT_AN_INSECT
    else:
        label = MOTH if moth_share >= 0.5 else OTHER_INSECT
    return Verdict(label, scores)
