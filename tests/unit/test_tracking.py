"""Tracking detections from photo to photo: the cost's terms, the optimal assignment, the
threshold, and chains across several photos."""

from __future__ import annotations

import random

import pytest

from trapline.domain.ecology.occurrences import Detection, DeterminedBy, best_detection, determine
from trapline.domain.ecology.reviews import Verdict
from trapline.domain.ecology.tracking import (
    COST_THRESHOLD,
    Frame,
    Sighting,
    cost,
    costs,
    pair,
    track,
)

RED = (1.0, 0.0, 0.0)
BLUE = (0.0, 0.0, 1.0)


def _s(id_: int, x: float, y: float, size: float = 40, look: tuple[float, ...] = RED) -> Sighting:
    return Sighting(id_, x, y, x + size, y + size, descriptor=look)


def _frame(image_id: int, *sightings: Sighting) -> Frame:
    return Frame(image_id, 1600, 1200, sightings)


def test_an_unmoved_lookalike_costs_nothing_and_each_term_adds_up_to_four() -> None:
    a = _s(1, 100, 100)
    assert cost(a, _s(2, 100, 100), 2000) == pytest.approx(0)
    # Far away (a whole diagonal), no overlap, a quarter of the size, another colour.
    far = Sighting(3, 1900, 1900, 1920, 1920, descriptor=BLUE)
    assert cost(a, far, 2000) == pytest.approx(1 + 0.75 + 1 + 1, abs=0.01)


def test_features_beat_descriptors_and_missing_ones_count_as_unlike() -> None:
    a = Sighting(1, 0, 0, 10, 10, features=(1.0, 0.0), descriptor=RED)
    b = Sighting(2, 0, 0, 10, 10, features=(0.0, 1.0), descriptor=RED)
    assert cost(a, b, 100) == pytest.approx(1.0)  # features say unlike, colour says alike
    blank = Sighting(3, 0, 0, 10, 10)
    assert cost(a, blank, 100) == pytest.approx(1.0)  # nothing says they look alike


def test_the_assignment_is_optimal_over_the_pair_not_greedy() -> None:
    # A red insect (10) beside a blue one (11), then two blue ones (20 where 10 was, 21 a
    # little right). The cheapest single pair is 11->20 (0.41), but taking it leaves 10->21
    # (1.68) over the threshold; the assignment links both: 10->20 (1.0) and 11->21 (0.41).
    earlier = _frame(1, _s(10, 80, 100), _s(11, 90, 100, look=BLUE))
    later = _frame(2, _s(20, 80, 100, look=BLUE), _s(21, 100, 100, look=BLUE))
    first, second = earlier.sightings
    assert cost(second, later.sightings[0], 2000) < cost(first, later.sightings[0], 2000)
    assert cost(first, later.sightings[1], 2000) > COST_THRESHOLD
    links = {(a, b) for a, b, _ in pair(earlier, later)}
    assert links == {(10, 20), (11, 21)}


def test_nothing_is_linked_over_the_threshold() -> None:
    earlier = _frame(1, _s(10, 100, 100))
    moved = _frame(2, _s(20, 1500, 1100))  # no overlap, 0.86 of the diagonal away: 1.86
    assert pair(earlier, moved) == []
    assert pair(earlier, moved, threshold=4.0) != []


def test_a_chain_through_photos_and_a_newcomer_make_two_occurrences() -> None:
    frames = [
        _frame(1, _s(10, 100, 100)),
        _frame(2, _s(20, 104, 102), _s(21, 900, 900, look=BLUE)),
        _frame(3, _s(30, 108, 104), _s(31, 902, 901, look=BLUE)),
    ]
    chains = [[i for i, _ in chain] for chain in track(frames)]
    assert chains == [[10, 20, 30], [21, 31]]
    first = track(frames)[0]
    assert first[0][1] is None
    assert all(c is not None and c <= COST_THRESHOLD for _, c in first[1:])


def test_a_photo_without_sightings_is_skipped_by_the_caller_and_empty_frames_link_nothing() -> None:
    assert track([]) == []
    assert pair(_frame(1), _frame(2, _s(20, 0, 0))) == []


def _d(
    id_: int,
    label: str | None,
    confidence: float | None,
    *,
    review: tuple[int, Verdict, str | None] | None = None,
    below: bool = False,
) -> Detection:
    return Detection(id_, 1, "p", (0, 0, 1, 1), label, confidence, None, review, below)


def test_the_determination_is_a_persons_word_else_the_most_confident_model() -> None:
    moths = [_d(1, "Noctua", 0.6), _d(2, "Catocala", 0.9), _d(3, "Noctua", 0.8)]
    model = determine(moths)
    assert (model.label, model.score, model.by) == ("Catocala", 0.9, DeterminedBy.MODEL)
    assert best_detection(moths).annotation_id == 2
    reviewed = [
        _d(1, "Noctua", 0.6, review=(7, Verdict.RELABEL, "Agrotis")),
        _d(2, "Catocala", 0.9, review=(5, Verdict.CONFIRM, None)),
    ]
    person = determine(reviewed)
    assert (person.label, person.score, person.by) == ("Agrotis", None, DeterminedBy.PERSON)


def test_what_takes_part() -> None:
    assert _d(1, "moth", 0.9).takes_part
    assert not _d(1, "moth", 0.2, below=True).takes_part
    assert not _d(1, "not an insect", 0.9).takes_part
    assert not _d(1, "moth", 0.9, review=(1, Verdict.FALSE_DETECTION, None)).takes_part
    assert _d(1, "moth", 0.2, below=True, review=(1, Verdict.CONFIRM, None)).takes_part
    assert not _d(1, "moth", 0.9, review=(1, Verdict.RELABEL, "background")).takes_part


def test_the_cost_matrix_is_the_cost_of_every_pair() -> None:
    rng = random.Random(5)

    def some(n: int, first: int) -> tuple[Sighting, ...]:
        found = []
        for k in range(n):
            x, y, size = rng.uniform(0, 1500), rng.uniform(0, 1100), rng.uniform(0, 90)
            features = tuple(rng.random() for _ in range(3)) if k % 3 == 0 else None
            look = tuple(rng.random() for _ in range(4)) if k % 4 else None
            found.append(Sighting(first + k, x, y, x + size, y + size * 0.7, features, look))
        return tuple(found)

    earlier, later = _frame(1, *some(9, 0)), _frame(2, *some(7, 100))
    matrix = costs(earlier, later)
    for r, a in enumerate(earlier.sightings):
        for c, b in enumerate(later.sightings):
            assert matrix[r, c] == pytest.approx(cost(a, b, earlier.diagonal))
