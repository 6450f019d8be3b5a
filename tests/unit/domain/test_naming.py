"""One rule names a box for tracking, counting, the exports and the viewer
(``domain/ecology/naming.py``)."""

from __future__ import annotations

from trapline.domain.ecology.naming import Said, name_box


def test_a_terminal_classification_names_the_box_over_its_own_label() -> None:
    named = name_box(
        Said("animal", 0.9),
        [Said("Ardea alba", 0.4, terminal=True), Said("Ardea cinerea", 0.81, terminal=True)],
    )
    assert (named.label, named.score, named.by_classifier, named.chosen) == (
        "Ardea cinerea", 0.81, True, 1,
    )  # fmt: skip


def test_without_a_terminal_one_the_box_names_itself_else_the_surest_classification() -> None:
    assert name_box(Said("insect", 0.95), [Said("moth", 0.9)]).label == "insect"
    named = name_box(Said(None), [Said("moth", 0.6), Said("beetle", 0.7)])
    assert (named.label, named.chosen, named.by_classifier) == ("beetle", 1, False)
    assert name_box(Said(None), []).label is None


def test_a_no_object_word_at_any_stage_rejects_the_box() -> None:
    said = [Said("nonmoth", 0.8), Said("Idia aemula", 0.9, terminal=True)]
    assert name_box(Said("insect", 0.95), said).rejected
    assert not name_box(Said("insect", 0.95), [Said("moth", 0.8)]).rejected
    assert name_box(Said("insect"), [Said("dust", 0.5)], frozenset({"dust"})).rejected
