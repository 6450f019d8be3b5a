"""Taxa: the names a project counts its occurrences under.

A taxa list holds taxa (a scientific name at a rank, under a parent of a higher rank, with
vernacular names and external ids); several projects can use one list. A pipeline's labels
map onto the list's taxa (``LabelMapping``), or are marked as no object at all: a label such
as "not an insect" is a kind of its own, never a taxon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

#: Labels that say a detection is no object of interest: they take no part in occurrences.
NOT_AN_OBJECT = frozenset({"not an insect", "not-insect", "not_insect", "nonmoth", "background"})


class Rank(StrEnum):
    """A taxon's rank, highest first. ``morphospecies`` is a name people make up for a kind
    they can tell apart but not name: it ranks beside a species."""

    KINGDOM = "kingdom"
    PHYLUM = "phylum"
    CLASS = "class"
    ORDER = "order"
    SUPERFAMILY = "superfamily"
    FAMILY = "family"
    SUBFAMILY = "subfamily"
    TRIBE = "tribe"
    SUBTRIBE = "subtribe"
    GENUS = "genus"
    SUBGENUS = "subgenus"
    SPECIES = "species"
    MORPHOSPECIES = "morphospecies"
    SUBSPECIES = "subspecies"

    @property
    def level(self) -> int:
        """Where the rank stands: 0 for kingdom, growing downwards (a parent's is lower)."""
        return RANK_LEVELS[self]

    @property
    def at_species_or_below(self) -> bool:
        return self.level >= RANK_LEVELS[Rank.SPECIES]


#: Each rank's place; a morphospecies stands at a species' place.
RANK_LEVELS: dict[Rank, int] = {
    Rank.KINGDOM: 0,
    Rank.PHYLUM: 1,
    Rank.CLASS: 2,
    Rank.ORDER: 3,
    Rank.SUPERFAMILY: 4,
    Rank.FAMILY: 5,
    Rank.SUBFAMILY: 6,
    Rank.TRIBE: 7,
    Rank.SUBTRIBE: 8,
    Rank.GENUS: 9,
    Rank.SUBGENUS: 10,
    Rank.SPECIES: 11,
    Rank.MORPHOSPECIES: 11,
    Rank.SUBSPECIES: 12,
}

#: Ranks a species view can roll its counts up to.
ROLL_UP_RANKS = (Rank.ORDER, Rank.FAMILY, Rank.SUBFAMILY, Rank.TRIBE, Rank.GENUS, Rank.SPECIES)

#: The longest scientific or vernacular name, external id or language tag kept.
MAX_NAME = 255
MAX_LANGUAGE = 16


def parse_rank(text: str) -> Rank | None:
    """A rank from its name in any case ("Species", "SPECIES"); None when it is none."""
    try:
        return Rank(text.strip().lower())
    except ValueError:
        return None


@dataclass(frozen=True)
class TaxaList:
    """A list of taxa; projects use one each, and may share it."""

    id: int
    name: str
    #: The project that keeps it: its managers edit it.
    owner_project_id: int | None
    taxon_count: int
    created_at: datetime


@dataclass(frozen=True)
class Taxon:
    """A taxon of a list."""

    id: int
    list_id: int
    scientific_name: str
    rank: Rank
    parent_id: int | None
    #: Ancestors' ids from the root down to the parent.
    lineage: tuple[int, ...]
    gbif_key: int | None = None
    lsid: str | None = None
    #: The id the list's source gave it (a checklist's ``taxonID``).
    source_id: str | None = None
    #: Vernacular names by language tag ("en", "fr", "" when the language is not given).
    vernacular: dict[str, str] = field(default_factory=dict)

    @property
    def taxon_id_uri(self) -> str | None:
        """The taxon's id for publishing: its GBIF page, else its LSID, else its source id."""
        if self.gbif_key is not None:
            return f"https://www.gbif.org/species/{self.gbif_key}"
        return self.lsid or self.source_id


@dataclass(frozen=True, slots=True)
class ParentRef:
    """How an import row names its parent: a scientific name, with the rank when the name
    alone is ambiguous."""

    name: str
    rank: Rank | None = None


@dataclass(frozen=True, slots=True)
class TaxonEntry:
    """One row of a taxa file, read and checked on its own (not yet against the others)."""

    #: The row's number in the file (1 is the first after the header).
    row: int
    scientific_name: str
    rank: Rank
    parent: ParentRef | None
    gbif_key: int | None = None
    lsid: str | None = None
    source_id: str | None = None
    vernacular: dict[str, str] = field(default_factory=dict)
    #: What identifies a taxon within a list: its name (any case) at its rank. Made once, so
    #: that every map of a file's 250,000 entries shares it rather than holding its own.
    key: tuple[str, Rank] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.scientific_name.casefold(), self.rank))


class RowStatus(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What an import did with one row, or why it could not."""

    row: int
    name: str
    status: RowStatus
    message: str | None = None


class LabelKind(StrEnum):
    """What a pipeline's label stands for."""

    #: A taxon of the project's list.
    TAXON = "taxon"
    #: Nothing of interest ("not an insect"): never counted as a taxon.
    NON_OBJECT = "non_object"


@dataclass(frozen=True)
class LabelMapping:
    """A label and what it stands for in a project: set by a person, or worked out."""

    label: str
    kind: LabelKind | None
    taxon_id: int | None
    #: ``person`` (set on the labels page or the API), ``name`` (the label is a scientific
    #: name of the list), ``category_map`` (the pipeline's category map says which) or
    #: ``no_object`` (a label known to mean nothing), None while unmapped.
    how: str | None
    #: How many occurrences of the project carry the label (their determination).
    occurrences: int = 0


@dataclass(frozen=True)
class IdentificationMark:
    """An identification as a determination weighs it."""

    id: int
    #: The taxon it names; None for a rejection (``rejected``).
    taxon_id: int | None
    taxon_name: str | None
    user_id: int | None
    user_name: str | None
    #: A rejection's value (``rejections.Rejection``): it names no taxon, nothing to count.
    rejected: str | None = None


@dataclass
class LabelResolver:
    """Which taxon a project's labels name, worked out in this order: a person's mapping; a
    label known to mean no object; the category map's GBIF key or rank for the label; the
    label as the one scientific name of the list it equals (a name at two ranks is left for a
    person to map)."""

    #: A person's mappings: label -> taxon id (None: no object).
    mapped: dict[str, int | None]
    #: Taxa by folded scientific name: [(taxon id, rank)].
    by_name: dict[str, list[tuple[int, Rank]]]
    #: Taxa by GBIF key.
    by_gbif: dict[int, int]
    #: Category-map entries by label: {"gbif_key": ..., "taxon_rank": ...}.
    hints: dict[str, dict[str, Any]]
    #: Labels that say there is nothing of interest.
    no_object: frozenset[str]

    def mapping(self, label: str) -> LabelMapping:
        """What ``label`` stands for, and how that was worked out."""
        if label in self.mapped:
            taxon = self.mapped[label]
            kind = LabelKind.TAXON if taxon is not None else LabelKind.NON_OBJECT
            return LabelMapping(label, kind, taxon, "person")
        if label.strip().lower() in self.no_object:
            return LabelMapping(label, LabelKind.NON_OBJECT, None, "no_object")
        hint = self.hints.get(label) or {}
        key = _int(hint.get("gbif_key") or hint.get("gbif_id"))
        if key is not None and key in self.by_gbif:
            return LabelMapping(label, LabelKind.TAXON, self.by_gbif[key], "category_map")
        named = self.by_name.get(str(hint.get("scientific_name") or label).strip().casefold(), [])
        rank = parse_rank(str(hint.get("taxon_rank") or hint.get("rank") or ""))
        if rank is not None:
            named = [(t, r) for t, r in named if r is rank]
        if len(named) == 1:
            how = "category_map" if rank is not None else "name"
            return LabelMapping(label, LabelKind.TAXON, named[0][0], how)
        return LabelMapping(label, None, None, None)

    def taxon_of(self, label: str | None) -> int | None:
        """The taxon ``label`` names, None when it names none."""
        return self.mapping(label).taxon_id if label else None


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


@dataclass(frozen=True)
class Identification:
    """A person's identification of an occurrence or a detection."""

    id: int
    project_id: int
    #: The occurrence it was made on (None when made on a single detection, or when the
    #: occurrence went in a later tracking: it stays with its detection).
    occurrence_id: int | None
    #: The detection it is attached to: an occurrence's best one when made on an occurrence.
    annotation_id: int
    #: The taxon named; None (with its name and rank) for a rejection.
    taxon_id: int | None
    taxon_name: str | None
    taxon_rank: Rank | None
    #: ``model`` when agreeing with the models' determination, an identification's id when
    #: agreeing with a person's, else None.
    agreed_with: str | None
    comment: str
    user_id: int | None
    user_name: str | None
    created_at: datetime
    withdrawn: bool = False
    #: A rejection's value (``rejections.Rejection``): the occurrence is nothing to count.
    rejected: str | None = None
