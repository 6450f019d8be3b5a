"""Rejections: a person's word that an occurrence is nothing to count (a dust speck, a leaf,
an empty frame), kept as an identification that names no taxon.

An occurrence whose determination is a rejection stays what it was (its id, its detections,
its place in the event) but counts nowhere: no tally, species count, listing or export
holds it. Withdrawing the rejection puts it back.
"""

from __future__ import annotations

from enum import StrEnum

from trapline.domain.core.event_rules import ProjectKind


class Rejection(StrEnum):
    """What a person says an occurrence is instead of a taxon."""

    NOT_AN_INSECT = "not_an_insect"
    NOT_AN_ANIMAL = "not_an_animal"
    NOTHING_THERE = "nothing_there"

    @property
    def words(self) -> str:
        """How pages say it: "not an insect"."""
        return self.value.replace("_", " ")


def rejections_for(kind: str) -> tuple[Rejection, ...]:
    """The rejections a project of this kind (``ProjectKind``'s value) offers: a light trap
    catches insects, a camera trap animals; a project of another kind is offered both."""
    if kind == ProjectKind.LIGHT_TRAP:
        return (Rejection.NOT_AN_INSECT, Rejection.NOTHING_THERE)
    if kind == ProjectKind.CAMERA_TRAP:
        return (Rejection.NOT_AN_ANIMAL, Rejection.NOTHING_THERE)
    return (Rejection.NOT_AN_INSECT, Rejection.NOT_AN_ANIMAL, Rejection.NOTHING_THERE)


def parse_rejection(text: str) -> Rejection | None:
    """A rejection from its value or its words ("not an insect"); None when it is none."""
    folded = text.strip().lower().replace(" ", "_")
    try:
        return Rejection(folded)
    except ValueError:
        return None
