"""Grouping unidentified individuals (``trapline.evaluation.groups``): on vectors of known
structure (four taxa, each individual near its taxon's centre) the groups recover the taxa, the
number of groups is found without being told, tightness says how alike a group is, a lone
individual is left ungrouped, and the same vectors always give the same groups."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from sklearn.metrics import adjusted_rand_score

from trapline.evaluation import groups
from trapline.evaluation.groups import GroupsFound, group, unit, unit_means

TAXA = 4
LENGTH = 256
#: The agreement the groups must reach with the taxa. Individuals sit at a distance from their
#: taxon's centre that leaves the taxa apart (as a feature extractor that tells them apart
#: would): all but a stray few must land with their own taxon, and adjusted Rand 0.9 allows
#: about one individual in forty misplaced, where chance scores 0.
AGREEMENT = 0.9


def _individuals(
    per_taxon: list[int], *, spread: float = 0.6, seed: int = 1
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """Unit vectors of individuals of ``len(per_taxon)`` taxa (a count each), near their
    taxon's centre, non-negative as a network's pooled features are; and each one's taxon."""
    rng = np.random.default_rng(seed)
    centres = rng.gamma(1.0, 1.0, (len(per_taxon), LENGTH))
    rows, taxa = [], []
    for taxon, n in enumerate(per_taxon):
        place = centres[taxon] + rng.normal(0, spread, (n, LENGTH))
        rows.append(np.maximum(place, 0))
        taxa += [taxon] * n
    return unit(np.vstack(rows).astype(np.float32)), np.asarray(taxa, dtype=np.int64)


def _grouped(vectors: NDArray[np.float32]) -> GroupsFound:
    return group(lambda rows: vectors[rows], len(vectors))


def _labels(found: GroupsFound, count: int) -> NDArray[np.int64]:
    labels = np.full(count, -1, dtype=np.int64)
    for g in found.groups:
        labels[g.members] = g.number
    return labels


def test_the_groups_recover_four_taxa_without_being_told_how_many() -> None:
    vectors, taxa = _individuals([60, 45, 30, 15])

    found = _grouped(vectors)

    assert len(found.groups) == TAXA
    assert adjusted_rand_score(taxa, _labels(found, len(taxa))) >= AGREEMENT
    assert sorted(g.size for g in found.groups) == [15, 30, 45, 60]
    assert found.dimensions == min(groups.DIMENSIONS, len(taxa))
    assert found.silhouette == max(s for _, s in found.tried)
    tightness = [g.tightness for g in found.groups]
    assert tightness == sorted(tightness, reverse=True)
    for g in found.groups:
        assert 0 < g.tightness <= 1
        assert list(g.similarity) == sorted(g.similarity, reverse=True)


def test_beyond_the_sample_every_individual_is_assigned_to_its_taxon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With more individuals than the sample the groups are found among, the rest are assigned
    to the nearest group; the vectors are read a block at a time, twice (the first block is
    kept between the passes)."""
    monkeypatch.setattr(groups, "SAMPLE", 120)
    monkeypatch.setattr(groups, "BLOCK", 50)
    vectors, taxa = _individuals([200, 150, 100, 50], seed=3)
    reads: list[int] = []

    def read(rows: NDArray[np.int64]) -> NDArray[np.float32]:
        reads.append(len(rows))
        return vectors[rows]

    found = group(read, len(vectors))

    assert max(reads) == 50
    assert sum(reads) == 2 * len(vectors) - 50
    assert len(found.groups) == TAXA
    assert adjusted_rand_score(taxa, _labels(found, len(taxa))) >= AGREEMENT


def test_a_tight_group_is_tighter_than_a_loose_one() -> None:
    tight, _ = _individuals([30], spread=0.2, seed=4)
    loose, _ = _individuals([30], spread=1.5, seed=5)

    found = _grouped(np.vstack([tight, loose]))

    assert len(found.groups) == 2
    first, second = found.groups
    assert set(first.members.tolist()) == set(range(30))
    assert first.tightness > second.tightness


def test_a_lone_individual_is_left_ungrouped() -> None:
    vectors, _ = _individuals([10, 10], spread=0.3, seed=6)
    odd = np.zeros((1, LENGTH), dtype=np.float32)
    odd[0, 0] = 1.0

    found = _grouped(np.vstack([vectors, odd]))

    assert found.ungrouped.tolist() == [20]
    assert sorted(g.size for g in found.groups) == [10, 10]


def test_the_same_vectors_give_the_same_groups() -> None:
    vectors, _ = _individuals([25, 25, 25], seed=7)

    once, again = _grouped(vectors), _grouped(vectors)

    assert [g.members.tolist() for g in once.groups] == [g.members.tolist() for g in again.groups]
    assert once.tried == again.tried


def test_two_individuals_are_too_few() -> None:
    vectors, _ = _individuals([2], seed=8)

    with pytest.raises(ValueError, match="3 individuals or more"):
        _grouped(vectors)


def test_an_individual_is_the_mean_of_its_detections_scaled_to_length_one() -> None:
    detections = np.array([[3, 0], [1, 0], [0, 2]], dtype=np.float32)

    found = unit_means(detections, np.array([0, 0, 1]), 3)

    assert found.tolist() == [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
