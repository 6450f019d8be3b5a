"""Determinations: the one place exports learn what the occurrence a detection is in is
determined as, and whether a person determined it, as ``review.py`` is for a person's word on
the detection itself.

Every detection in an occurrence carries its ``Determination``: the taxon it names (its
scientific name), its label, and who determined it (a person, or the models), so that counting
the distinct occurrences of a file with a row per detection gives the counts the pages show.

An occurrence's determination is a person's when the latest identification of it (not
withdrawn) or, without one, the latest review of one of its detections decided it
(``domain/ecology/occurrences.py``). Every detection of such an occurrence carries a ``Determined``:
the person, the taxon they named (its scientific name, else the determination's label) and
when. The CSV writes it in ``determined_by`` and ``identified_taxon``; COCO makes it the
detection's category, MegaDetector output its first classification, Camtrap DP a human
classification; ``reviewed_only`` and ``min_confidence`` keep the detection as a reviewed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import NamedTuple

from trapline.domain.exports.facts import IdentificationFacts, OccurrenceFacts
from trapline.domain.taxa.taxa import Taxon


class Determined(NamedTuple):
    """A person's determination of the occurrence a detection is in."""

    #: The person's name (their email when they gave none); ``person`` once their account is
    #: gone.
    person: str
    #: The taxon's scientific name, else (a review's label that names no taxon) the label.
    taxon: str
    #: The taxon of the project's list it names, if any.
    taxon_id: int | None
    made_at: datetime
    #: ``identification`` or ``review``.
    kind: str


class Determination(NamedTuple):
    """What the occurrence a detection is in is determined as, and by whom."""

    #: The scientific name of the taxon of the project's list it names (None: none).
    taxon: str | None
    #: Its label (a person's, else the models').
    label: str | None
    #: ``human`` when a person determined it, else ``machine``.
    method: str
    #: The person (their name, else their email; ``person`` once their account is gone);
    #: None for the models.
    person: str | None


def as_json(made: Determination) -> dict[str, str | None]:
    """A determination as the JSON formats write it beside a detection."""
    return {
        "taxon": made.taxon,
        "label": made.label,
        "method": made.method,
        "person": made.person,
    }


def determinations(
    linked: Mapping[int, OccurrenceFacts],
    identified: Mapping[int, IdentificationFacts],
    taxa: Mapping[int, Taxon],
) -> dict[int, Determination]:
    """The determination of each of these occurrences, by occurrence."""
    found: dict[int, Determination] = {}
    for occurrence_id, o in linked.items():
        taxon = taxa.get(o.taxon_id) if o.taxon_id is not None else None
        name = taxon.scientific_name if taxon is not None else None
        if o.determined_by == "person":
            said = identified.get(occurrence_id)
            person = (said.person if said else None) or o.identified_by or "person"
            found[occurrence_id] = Determination(name, o.label, "human", person)
        else:
            found[occurrence_id] = Determination(name, o.label, "machine", None)
    return found


def determined(
    linked: Mapping[int, OccurrenceFacts],
    identified: Mapping[int, IdentificationFacts],
    taxa: Mapping[int, Taxon],
) -> dict[int, Determined]:
    """The person's determination of each of these occurrences a person determined, by
    occurrence (``identified``: the person's word on each, as the batch read it)."""
    found: dict[int, Determined] = {}
    for occurrence_id, said in identified.items():
        o = linked.get(occurrence_id)
        if o is None or o.determined_by != "person":
            continue
        taxon = taxa.get(o.taxon_id) if o.taxon_id is not None else None
        name = taxon.scientific_name if taxon is not None else o.label
        if not name:
            continue
        found[occurrence_id] = Determined(
            said.person or "person", name, o.taxon_id, said.made_at, said.kind
        )
    return found
