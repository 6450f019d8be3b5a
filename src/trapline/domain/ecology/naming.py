"""What names a box, and whether any stage said there is nothing there: one rule for tracking
and every count, the detection exports and the photo viewer (docs/counting.md).

A box's name is its most confident *terminal* classification's (a species classifier's), else
the box's own label (a detector's category such as ``animal``), else its most confident
classification's. A no-object word from any stage (a moth filter's ``nonmoth``, a label a person
mapped as no object) rejects the box whatever names it and whatever its detector scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from trapline.domain.ecology.occurrences import no_object


class Said(NamedTuple):
    """One stage's word on a box: its label, how sure, and whether a terminal classifier (the
    one that names the species) said it (a tuple: exports make one per classification)."""

    label: str | None
    score: float | None = None
    terminal: bool = False


class Named(NamedTuple):
    """What names a box, how sure, whether a classifier gave it, and whether a stage said
    there is nothing there."""

    label: str | None
    score: float | None
    by_classifier: bool
    rejected: bool
    #: Which classification names it (its place among those given); None: the box itself.
    chosen: int | None = None


def name_box(own: Said, classes: Sequence[Said], hidden: frozenset[str] = frozenset()) -> Named:
    """Name a box from its own label (``own``) and its classifications (``hidden``: labels a
    person mapped as no object). Of equally sure classifications the first counts."""
    rejected = False
    surest = terminal = None  # the surest classification, and the surest terminal one
    top = top_terminal = -2.0  # below any score (an unscored one counts as -1)
    for i, c in enumerate(classes):
        if not rejected and no_object(c.label, hidden):
            rejected = True
        sure = c.score if c.score is not None else -1.0
        if sure > top:
            surest, top = i, sure
        if c.terminal and sure > top_terminal:
            terminal, top_terminal = i, sure
    if terminal is not None:
        c = classes[terminal]
        return Named(c.label, c.score, True, rejected, terminal)
    if own.label is not None or surest is None:
        return Named(own.label, own.score, False, rejected)
    c = classes[surest]
    return Named(c.label, c.score, False, rejected, surest)
