"""Matching and figures on cases whose answers are known by construction."""

from __future__ import annotations

import pytest

from trapline.evaluation.metrics import Counts, Prediction, iou, match, total

TRUTH = [(0.0, 0.0, 10.0, 10.0), (20.0, 0.0, 30.0, 10.0), (0.0, 20.0, 10.0, 30.0), (40, 40, 60, 60)]


def shifted(rect: tuple[float, float, float, float], dx: float) -> tuple[float, ...]:
    return (rect[0] + dx, rect[1], rect[2] + dx, rect[3])


def test_iou_of_known_overlaps() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0
    assert iou((0, 0, 10, 10), (2, 2, 2, 8)) == 0.0  # degenerate


def test_perfect_predictions() -> None:
    counts = match([Prediction(rect) for rect in TRUTH], TRUTH, 0.5).counts
    assert counts == Counts(4, 0, 0)
    assert (counts.precision, counts.recall, counts.f1) == (1.0, 1.0, 1.0)


def test_all_missed() -> None:
    counts = match([], TRUTH, 0.5).counts
    assert counts == Counts(0, 0, 4)
    assert (counts.precision, counts.recall, counts.f1) == (1.0, 0.0, 0.0)


def test_all_false() -> None:
    far = [Prediction((100 + i * 20, 100, 110 + i * 20, 110)) for i in range(3)]
    counts = match(far, TRUTH, 0.3).counts
    assert counts == Counts(0, 3, 4)
    assert (counts.precision, counts.recall, counts.f1) == (0.0, 0.0, 0.0)


def test_half_found_half_false() -> None:
    found = [Prediction(TRUTH[0]), Prediction(TRUTH[1]), Prediction((100, 100, 110, 110))]
    found.append(Prediction((200, 200, 210, 210)))
    counts = match(found, TRUTH, 0.5).counts
    assert counts == Counts(2, 2, 2)
    assert (counts.precision, counts.recall, counts.f1) == (0.5, 0.5, 0.5)


def test_the_iou_threshold_decides_a_loose_box() -> None:
    # Shifted by 4 of 10 pixels: IoU 6/14 = 0.43, a hit at 0.3 but not at 0.5.
    loose = [Prediction(shifted(TRUTH[0], 4))]
    assert match(loose, TRUTH, 0.3).counts == Counts(1, 0, 3)
    assert match(loose, TRUTH, 0.5).counts == Counts(0, 1, 4)


def test_one_truth_is_matched_once_by_the_most_confident_prediction() -> None:
    duplicates = [Prediction(shifted(TRUTH[0], 1), 0.4), Prediction(TRUTH[0], 0.9)]
    matching = match(duplicates, TRUTH[:1], 0.5)
    assert matching.matches == [None, 0]
    assert matching.counts == Counts(1, 1, 0)


def test_overall_figures_pool_the_boxes() -> None:
    summed = total([Counts(2, 0, 0), Counts(0, 2, 2), Counts()])
    assert summed == Counts(2, 2, 2)
    assert summed.precision == 0.5
    assert Counts().precision == Counts().recall == 1.0
