"""Refitting a classifier head (``trapline.evaluation.refit``): the cross-validation grouped by
event reports the accuracy a head has on individuals it never saw, where a split by detection
overstates it; too few identifications are refused saying what is missing; a stored head
predicts as the fitted one."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from tests.support.refit_scenes import TAXA, nights_of
from trapline.errors import InvalidInput
from trapline.evaluation.heads import Head
from trapline.evaluation.refit import (
    Examples,
    census,
    fit,
    held_out_predictions,
    shortfall,
    standardize,
)

DIMENSIONS = 64


@pytest.mark.parametrize("seed", [0, 3])
def test_cross_validation_by_event_matches_individuals_held_out_and_a_split_by_detection_overstates(
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 0.35, (TAXA, DIMENSIONS))
    seen = nights_of(rng, centres, range(120), 0)
    unseen = nights_of(rng, centres, range(1000, 1200), 10**6)
    copy = seen.features.copy()

    refit = fit(seen)

    held_out = float(np.mean(refit.head.predict(unseen.features) == unseen.taxa))
    assert refit.folds == 5
    assert refit.accuracy == pytest.approx(held_out, abs=0.05)
    assert 0.6 < held_out < 0.9  # a task neither trivial nor hopeless
    # The same head, its folds split by detection: frames of one individual on both sides.
    standardize(copy)
    by_detection = KFold(5, shuffle=True, random_state=0).split(copy)
    folds = [(a.astype(np.int64), b.astype(np.int64)) for a, b in by_detection]
    overstated = float(np.mean(held_out_predictions(copy, seen.taxa, folds) == seen.taxa))
    assert overstated > held_out + 0.12
    assert overstated > refit.accuracy + 0.12


def test_per_taxon_figures_add_up_and_a_taxon_seen_in_one_event_is_listed_as_too_few() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(0, 2.0, (TAXA, DIMENSIONS))
    seen = nights_of(rng, centres, range(30), 0)
    lonely = np.full((3, DIMENSIONS), 9.0, dtype=np.float32)
    examples = Examples(
        np.vstack([seen.features, lonely]),
        np.concatenate([seen.taxa, [7, 7, 7]]),
        np.concatenate([seen.events, [500, 500, 500]]),
        np.concatenate([seen.individuals, [900, 901, 902]]),
    )

    refit = fit(examples)

    assert [(c.taxon_id, c.individuals, c.events, c.detections) for c in refit.too_few] == [
        (7, 3, 1, 3)
    ]
    assert 7 not in refit.head.labels.tolist()
    assert refit.detections == len(seen.taxa)
    assert refit.individuals == 120
    assert sum(t.support for t in refit.taxa) == refit.detections
    assert sum(t.predicted for t in refit.taxa) == refit.detections
    assert refit.accuracy == pytest.approx(sum(t.correct for t in refit.taxa) / refit.detections)
    for row in refit.taxa:
        assert row.support == int(np.sum(seen.taxa == row.taxon_id))
        assert row.recall == pytest.approx(row.correct / row.support)
    assert refit.accuracy > 0.9  # centres far apart: an easy scene


def test_a_fit_says_how_far_it_has_got_fold_by_fold() -> None:
    rng = np.random.default_rng(2)
    examples = nights_of(rng, rng.normal(0, 2.0, (TAXA, DIMENSIONS)), range(10), 0)
    said: list[tuple[str, float]] = []

    refit = fit(examples, folds=3, progress=lambda stage, share: said.append((stage, share)))

    assert refit.folds == 3
    assert said == [
        ("cross-validating: fold 1 of 3", 0.0),
        ("cross-validating: fold 2 of 3", 0.25),
        ("cross-validating: fold 3 of 3", 0.5),
        ("fitting on every identified detection", 0.75),
    ]


def test_too_few_identifications_are_refused_saying_what_is_missing() -> None:
    features = np.zeros((6, 4), dtype=np.float32)
    # Four individuals of taxon 1 over two nights, two of taxon 2 on one night.
    taxa = np.array([1, 1, 1, 1, 2, 2], dtype=np.int64)
    events = np.array([10, 10, 11, 11, 12, 12], dtype=np.int64)
    individuals = np.arange(6, dtype=np.int64)
    with pytest.raises(InvalidInput) as refused:
        fit(Examples(features, taxa, events, individuals))
    assert "at least 5 identified individuals of at least 2 taxa" in refused.value.detail
    assert "1 such taxa and 4 individuals of them" in refused.value.detail

    counts = census(taxa, events, individuals)
    names = {1: "Ardea cinerea", 2: "Ardea alba"}
    said = shortfall(counts, names, "'moths'")
    assert said is not None
    assert "Ardea cinerea: 4 individuals in 2 events; Ardea alba: 2 individuals in 1 events" in said
    assert "features from 'moths'" in said
    nothing = shortfall([], names, "'moths'")
    assert nothing is not None
    assert "nobody has identified an individual" in nothing


@pytest.mark.parametrize("taxa", [2, 3])
def test_a_stored_head_predicts_as_the_fitted_model(taxa: int) -> None:
    rng = np.random.default_rng(taxa)
    x = rng.normal(0, 1, (60, 5)).astype(np.float32)
    y = np.repeat(np.arange(taxa) + 40, 60 // taxa).astype(np.int64)
    x += (y[:, None] - 40).astype(np.float32)
    raw = x.copy()
    mean, scale = standardize(x)
    model = LogisticRegression(max_iter=1000).fit(x, y)
    head = Head(
        model.coef_.astype(np.float32),
        model.intercept_.astype(np.float32),
        mean,
        scale,
        model.classes_.astype(np.int64),
    )

    read = Head.from_bytes(head.to_bytes())

    assert read.predict(raw).tolist() == model.predict(x).tolist()
    assert read.probabilities(raw) == pytest.approx(model.predict_proba(x), abs=1e-4)
    with pytest.raises(ValueError, match="vectors of 5 numbers"):
        read.probabilities(raw[:, :3])


def test_a_taxon_with_fewer_detections_than_folds_is_fitted_and_scored() -> None:
    rng = np.random.default_rng(2)
    centres = rng.normal(0, 2.0, (TAXA, DIMENSIONS))
    seen = nights_of(rng, centres, range(20), 0)
    rare = (centres[0] * -1 + rng.normal(0, 0.05, (2, DIMENSIONS))).astype(np.float32)
    examples = Examples(
        np.vstack([seen.features, rare]),
        np.concatenate([seen.taxa, [9, 9]]),
        np.concatenate([seen.events, [300, 301]]),
        np.concatenate([seen.individuals, [800, 801]]),
    )

    refit = fit(examples)

    assert refit.folds == 5
    assert refit.too_few == ()
    rare_row = next(t for t in refit.taxa if t.taxon_id == 9)
    assert (rare_row.individuals, rare_row.support) == (2, 2)
    assert 9 in refit.head.labels.tolist()
