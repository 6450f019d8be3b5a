"""Long vectors projected onto their main directions before a refit
(``trapline.evaluation.reduction``): read block by block it is the projection of the whole
matrix, the head lifted back over the model's own vectors predicts as the one fitted on the
coordinates, and a refit on the coordinates keeps its honest figures and nearly all of the
accuracy of a fit on the whole vectors."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tests.support.refit_scenes import TAXA, nights_of
from trapline.evaluation.heads import Floats, Ids
from trapline.evaluation.reduction import COMPONENTS, fit_projection, projected
from trapline.evaluation.refit import MAX_ITER, C, Examples, fit

STRUCTURE = 64
LENGTH = 512


def _long(examples: Examples, embedding: Floats, rng: np.random.Generator) -> Examples:
    """The scene's vectors as a backbone would give them: its structure spread over ``LENGTH``
    numbers that move together, with a little noise of their own."""
    noise = rng.normal(0, 0.1, (len(examples.taxa), LENGTH))
    features = (examples.features @ embedding + noise + 3.0).astype(np.float32)
    return Examples(features, examples.taxa, examples.events, examples.individuals)


def _blocks(matrix: Floats, size: int) -> Iterator[tuple[Ids, Floats]]:
    for start in range(0, matrix.shape[0], size):
        rows = np.arange(start, min(start + size, matrix.shape[0]), dtype=np.int64)
        yield rows, matrix[rows]


def test_a_projection_read_in_blocks_is_that_of_the_whole_matrix() -> None:
    rng = np.random.default_rng(5)
    matrix = (rng.normal(0, 1, (900, 300)) * rng.uniform(0.5, 4, 300) + 7).astype(np.float32)
    matrix[:, 11] = 2.5  # a number that never varies

    small = fit_projection((b for _, b in _blocks(matrix, 64)), 300, components=20)
    whole = fit_projection([matrix], 300, components=20)

    assert small.width == 20
    np.testing.assert_allclose(small.mean, matrix.mean(axis=0), rtol=1e-5)
    expected_scale = matrix.astype(np.float64).std(axis=0)
    expected_scale[11] = 1.0
    np.testing.assert_allclose(small.scale, expected_scale, rtol=1e-4)
    assert small.basis is not None
    assert whole.basis is not None
    # The same directions (up to sign), orthonormal, the first holding the most spread.
    agreement = np.abs(np.sum(small.basis * whole.basis, axis=0))
    np.testing.assert_allclose(agreement, 1.0, atol=1e-3)
    np.testing.assert_allclose(small.basis.T @ small.basis, np.eye(20), atol=1e-4)
    spread = projected(_blocks(matrix, 64), 900, small).var(axis=0)
    assert np.all(np.diff(spread) <= 1e-3)


def test_short_vectors_are_only_standardized() -> None:
    matrix = np.random.default_rng(6).normal(4, 2, (50, 8)).astype(np.float32)

    projection = fit_projection([matrix], 8)

    assert projection.basis is None
    assert projection.width == 8
    coordinates = projected(_blocks(matrix, 7), 50, projection)
    np.testing.assert_allclose(coordinates.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(coordinates.std(axis=0), 1, atol=1e-4)


def test_a_refit_on_the_main_directions_stays_honest_and_loses_little() -> None:
    rng = np.random.default_rng(3)
    centres = rng.normal(0, 0.35, (TAXA, STRUCTURE))
    embedding = np.linalg.qr(rng.normal(0, 1, (LENGTH, STRUCTURE)))[0].T  # orthonormal rows
    seen = _long(nights_of(rng, centres, range(240), 0), embedding, rng)
    unseen = _long(nights_of(rng, centres, range(1000, 1200), 10**6), embedding, rng)
    rows = len(seen.taxa)

    projection = fit_projection((b for _, b in _blocks(seen.features, 500)), LENGTH)
    coordinates = projected(_blocks(seen.features, 500), rows, projection)
    refit = fit(Examples(coordinates, seen.taxa, seen.events, seen.individuals))
    head = projection.lift(refit.head)

    assert projection.width == COMPONENTS
    assert head.length == LENGTH
    # The lifted head over the model's vectors is the head over their coordinates.
    np.testing.assert_allclose(
        head.probabilities(unseen.features),
        refit.head.probabilities(projection.apply(unseen.features)),
        atol=1e-4,
    )
    held_out = float(np.mean(head.predict(unseen.features) == unseen.taxa))
    assert refit.accuracy == pytest.approx(held_out, abs=0.05)
    assert 0.6 < held_out < 0.9
    # The same head fitted on the whole vectors does no better on individuals it never saw.
    whole = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=MAX_ITER))
    on_whole = whole.fit(seen.features, seen.taxa).score(unseen.features, unseen.taxa)
    assert held_out >= on_whole - 0.03
