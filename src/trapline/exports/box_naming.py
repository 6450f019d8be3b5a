"""What names a box in an export and whether a stage said nothing is there, by the rule every
count uses (``domain/ecology/naming.py``), from the box's annotation and its children."""

from __future__ import annotations

from trapline.domain.ecology.naming import Said, name_box
from trapline.domain.ecology.occurrences import no_object
from trapline.domain.exports.facts import AnnotationFacts
from trapline.exports.review import HumanLabel


def box_label(
    top: AnnotationFacts,
    own: AnnotationFacts | None,
    chosen: AnnotationFacts | None,
    refused: bool,
    human: HumanLabel | None,
    hidden: frozenset[str],
) -> tuple[str | None, float | None, bool]:
    """A box's label, its confidence, and whether it says nothing is there: a person's label
    rules, else the chosen one's; any stage's no-object word (``refused``: one of the other
    stages') rejects the box (``naming.py``)."""
    if human is not None and human.label:
        return human.label, None, no_object(human.label, hidden)
    nothing = (
        refused
        or no_object(top.label, hidden)
        or (own is not None and no_object(own.label, hidden))
    )
    if chosen is not None:
        return chosen.label, chosen.confidence, nothing
    return top.label, top.confidence, nothing


def box_naming(
    top: AnnotationFacts, kids: list[AnnotationFacts], hidden: frozenset[str]
) -> tuple[AnnotationFacts | None, AnnotationFacts | None, bool]:
    """Of a box's classifications (``kids``): its detector's own verdict, the one that names
    the object as every count names it (``domain/ecology/naming.py``: the surest terminal
    one, else the box's own verdict, else the surest), and whether one of the others says
    there is no object. A detector that names its boxes (MegaDetector's animal, person,
    vehicle) posts its verdict as a classification of its own: that is the box's category
    and score."""
    classes = (
        kids
        if len(kids) == 1 and kids[0].type == "classification"
        else [k for k in kids if k.type == "classification"]
    )
    own = (
        next((k for k in classes if k.algorithm_id == top.algorithm_id), None)
        if top.algorithm_id
        else None
    )
    others = classes if own is None else [k for k in classes if k is not own]
    label = top.label if top.label is not None or own is None else own.label
    said = [Said(k.label, k.confidence, bool(k.terminal)) for k in others]
    named = name_box(Said(label, top.confidence), said, hidden)
    chosen = others[named.chosen] if named.chosen is not None else own
    return own, chosen, named.rejected
