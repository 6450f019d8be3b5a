"""The tallies of a version against an evaluation set, photo by photo (``evaluation/sets.py``):
the rules the pond scene does not reach."""

from __future__ import annotations

from trapline.evaluation.metrics import Rect
from trapline.evaluation.sets import Found, ItemKind, SetItem, SetScore

HERON, EGRET = 1, 2
BOX: Rect = (0.0, 0.0, 100.0, 100.0)
FAR: Rect = (300.0, 300.0, 400.0, 400.0)


def _identified(number: int, taxon: int | None, rect: Rect = BOX) -> SetItem:
    return SetItem(number, 1, ItemKind.IDENTIFIED, rect, taxon, "Ardea cinerea")


def test_a_second_box_on_an_identified_one_is_a_false_box_and_the_surer_one_counts() -> None:
    score = SetScore()
    found = [Found(BOX, 0.6, EGRET, "egret"), Found(BOX, 0.9, HERON, "heron")]
    score.add([_identified(1, HERON)], found)
    assert (score.correct, score.seen) == (1, 1)  # the surer box is matched first
    assert (score.boxes.true_positives, score.boxes.false_positives) == (1, 1)
    assert score.unjudged == 0


def test_a_label_naming_no_taxon_is_wrong_and_kept_in_the_confusion_table() -> None:
    score = SetScore()
    score.add([_identified(1, HERON)], [Found(BOX, 0.9, None, "animal")])
    assert score.correct == 0
    assert score.confusion == {(HERON, "animal"): 1}
    assert score.top_k_accuracy is None  # nothing ranked several labels


def test_a_deleted_taxon_is_never_right_and_an_unseen_photo_counts_only_in_the_size() -> None:
    score = SetScore()
    score.add([_identified(1, None)], [Found(BOX, 0.9, None, "animal", (None,))])
    score.add([_identified(2, HERON, FAR)], None)
    assert (score.size, score.seen, score.correct) == (2, 1, 0)
    assert score.members == {None: 1, HERON: 1}
    (heron,) = [t for t in score.taxa() if t.taxon_id == HERON]
    assert (heron.members, heron.support, heron.recall, heron.precision) == (1, 0, None, None)


def test_top_k_finds_the_taxon_among_the_ranked_labels() -> None:
    score = SetScore()
    score.add([_identified(1, HERON)], [Found(BOX, 0.9, EGRET, "egret", (EGRET, HERON))])
    assert (score.accuracy, score.top_k_accuracy) == (0.0, 1.0)
    (egret,) = [t for t in score.taxa() if t.taxon_id == EGRET]
    assert (egret.members, egret.predicted, egret.precision) == (0, 1, 0.0)
