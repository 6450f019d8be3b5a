"""The detection scorer's fit (decision 073): moth-blobs' insect score refitted from boxes
people judged, cross-validated by night, held-out photos scored at IoU 0.5."""

from __future__ import annotations

import math
import random

import pytest

from tests.support.scorer_scene import stained_photo
from trapline.evaluation.blob_scorer import (
    Example,
    ReviewedPhoto,
    ScorerWeights,
    cross_validate,
    examples,
    fit,
    folds_of,
    scored,
    shortfall,
)
from trapline.pipelines.blob_features import BlobFeatures
from trapline.pipelines.blob_segmentation import scan


def _night(seed: int, *, judged: bool = True) -> ReviewedPhoto:
    """One photo of the stained scene: moths confirmed or drawn, stains rejected (or, not
    ``judged``, left alone)."""
    image, moths, stains = stained_photo(seed)
    rejected = tuple(stains) if judged else ()
    return ReviewedPhoto(seed, seed, tuple(scan(image).candidates), tuple(moths), rejected)


def _features(darkness: float, size: float, standout: float) -> BlobFeatures:
    return BlobFeatures(
        size=size, elongation=1.5, fill=0.6, darkness=darkness, black=0.0, pale_centre=0.0,
        at_border=False, saturation=0.3, hue=30.0, standout=standout, edge=0.1,
    )  # fmt: skip


def test_the_fit_finds_the_weights_the_labels_were_drawn_with() -> None:
    truth = ScorerWeights(bias=-1.0, darkness=4.0, size=1.5, standout=3.0)
    rng = random.Random(3)
    found = []
    for n in range(20000):
        f = _features(rng.uniform(0, 0.8), math.exp(rng.uniform(-6, -2)), rng.uniform(0, 1.0))
        z = (
            truth.bias + truth.darkness * f.darkness + truth.standout * f.standout
            + truth.size * math.log(f.size / 0.01)
        )  # fmt: skip
        found.append(Example(n % 7, f, rng.random() < 1 / (1 + math.exp(-z))))

    got = fit(found, ridge=0.0)

    for name, want in truth.as_dict().items():
        assert got.as_dict()[name] == pytest.approx(want, abs=0.25), name


def test_rejected_stains_teach_the_score_and_held_out_nights_show_it() -> None:
    nights = [_night(seed) for seed in range(4)]

    fitted = cross_validate(nights)

    assert len(fitted.folds) == 4
    assert all(len(f.photos) == 1 for f in fitted.folds)
    # Every night is whole: each blob moth-blobs counts is a moth or a rejected stain.
    assert fitted.whole_photos == 4
    assert (fitted.insects, fitted.others) == (20, 16)
    # As it comes, moth-blobs counts the 16 stains beside the 20 moths...
    assert fitted.before.counts.true_positives == 20
    assert fitted.before.counts.false_positives == 16
    # ...fitted without each night, it leaves that night's stains out.
    assert fitted.after.counts.false_positives == 0
    assert fitted.after.counts.recall >= 0.9
    assert fitted.weights.bias < ScorerWeights.default().bias
    for fold in fitted.folds:
        assert fold.after.counts.precision > fold.before.counts.precision


def test_blobs_nobody_judged_on_a_photo_not_whole_are_no_examples() -> None:
    whole, partial = _night(0), _night(1, judged=False)

    assert whole.is_whole
    assert not partial.is_whole
    labelled = examples([whole, partial])

    # The stains of the photo nobody judged are no examples; its moths still are.
    assert sum(e.insect for e in labelled if e.group == 1) == 5
    assert [e for e in labelled if e.group == 1 and not e.insect] == []
    assert sum(not e.insect for e in labelled if e.group == 0) == 4
    # Scored, its stains are unjudged: neither false nor found.
    tally = scored(partial, ScorerWeights.default())
    assert (tally.counts.false_positives, tally.unjudged) == (0, 4)


def test_a_fit_needs_two_nights_and_examples_of_both_kinds() -> None:
    one_night = [_night(0), ReviewedPhoto(9, 0, _night(1).candidates, _night(1).insects)]

    with pytest.raises(ValueError, match="of 1 night: review boxes on photos of at least 2"):
        cross_validate(one_night)
    only_moths = [_night(n, judged=False) for n in range(2)]
    missing = shortfall(examples(only_moths), folds_of(only_moths))
    assert missing is not None
    assert "0 that are not" in missing


def test_folds_hold_out_whole_nights_dealt_round() -> None:
    photos = [ReviewedPhoto(n, f"night {n % 7}", (), ()) for n in range(14)]

    folds = folds_of(photos)

    assert len(folds) == 5
    assert sorted(g for fold in folds for g in fold) == sorted({f"night {n}" for n in range(7)})
    assert folds[0] == ["night 0", "night 5"]
