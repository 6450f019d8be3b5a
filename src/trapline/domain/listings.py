"""A project's occurrences and events as listings, and its counts as rows (docs/analysis.md):
what a listing is filtered by and ordered by, and how tallies become the rows of a count
table (taxa rolled up to a rank, a row per taxon and cell, individuals in each)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from trapline.domain.events import NIGHT_SHIFT
from trapline.domain.occurrences import DeterminedBy
from trapline.domain.species import rolled_up
from trapline.domain.taxa import Rank, Taxon


class OccurrenceOrder(StrEnum):
    """How occurrence listings are ordered; ties are broken by id."""

    FIRST_SEEN = "first_seen"
    FIRST_SEEN_DESC = "-first_seen"

    @property
    def descending(self) -> bool:
        """Whether the order runs from the latest to the earliest."""
        return self.value.startswith("-")


class EventOrder(StrEnum):
    """How event listings are ordered; ties are broken by id."""

    START = "start"
    START_DESC = "-start"

    @property
    def descending(self) -> bool:
        """Whether the order runs from the latest to the earliest."""
        return self.value.startswith("-")


@dataclass(frozen=True)
class OccurrenceFilter:
    """What an occurrence listing keeps beyond its counting scope (project, pipeline,
    deployment, nights, labels mapped as no object)."""

    event_id: int | None = None
    #: A taxon of the project's list: the occurrences of it and of every taxon under it.
    taxon_id: int | None = None
    determined_by: DeterminedBy | None = None
    #: The models' score at least this; a person's determination has none and is kept.
    min_score: float | None = None
    #: True: those the identification queue holds (no person's word, or people disagree);
    #: False: the others.
    needs_identification: bool | None = None

    @property
    def tallied(self) -> bool:
        """Whether the tallies can count what it keeps (they hold event and taxon, not who
        determined an occurrence or how sure the models are)."""
        return (
            self.determined_by is None
            and self.min_score is None
            and self.needs_identification is None
        )


def night_bounds(since: date | None, until: date | None) -> tuple[datetime | None, ...]:
    """The wall-clock times the nights ``since`` to ``until`` (both included) start at and
    end before: a night runs from noon on its evening's date to noon the next day."""
    start = datetime.combine(since, time()) + NIGHT_SHIFT if since else None
    end = datetime.combine(until, time()) + timedelta(days=1) + NIGHT_SHIFT if until else None
    return start, end


class CountBy(StrEnum):
    """A dimension of a count table, besides the taxon."""

    DEPLOYMENT = "deployment"
    EVENT = "event"
    NIGHT = "night"
    #: The hour of the camera's clock an occurrence was first seen (0-23).
    HOUR = "hour"


#: The dimensions in the order a table's columns and sorting take them.
COUNT_DIMENSIONS = tuple(CountBy)


def count_dimensions(text: str) -> tuple[CountBy, ...]:
    """The dimensions a ``by`` names (comma-separated, each once), in table order; ValueError
    says what is wrong."""
    words = [w.strip() for w in text.split(",")]
    known = ", ".join(d.value for d in COUNT_DIMENSIONS)
    chosen = set()
    for word in words:
        if word not in {d.value for d in COUNT_DIMENSIONS}:
            raise ValueError(f"{word[:40]!r} is not one of {known}")
        if CountBy(word) in chosen:
            raise ValueError(f"{word!r} is named twice")
        chosen.add(CountBy(word))
    return tuple(d for d in COUNT_DIMENSIONS if d in chosen)


#: A cell's place in a count table: deployment, event, night and hour (None where the table
#: is not split by it).
CellKey = tuple[int | None, int | None, date | None, int | None]


@dataclass(frozen=True)
class Tallied:
    """Occurrences of one taxon (or, naming none, one label) in one cell, as read."""

    key: CellKey
    taxon_id: int | None
    label: str | None
    occurrences: int


@dataclass(frozen=True)
class CountRow:
    """A row of a count table: a taxon (or, for occurrences whose label names no taxon of the
    list, that label) in one cell, with its individuals."""

    deployment_id: int | None
    event_id: int | None
    night: date | None
    hour: int | None
    taxon: Taxon | None
    #: The label of occurrences that name no taxon (None with a taxon, or undetermined).
    label: str | None
    individuals: int


def count_rows(
    tallied: Iterable[Tallied], taxa: Mapping[int, Taxon], rank: Rank | None
) -> list[CountRow]:
    """The rows of a count table: each taxon rolled up to ``rank`` (a taxon ranked higher, or
    without an ancestor of that rank, stays as itself), summed per cell; in cell order, then
    most individuals first, then by name."""
    sums: dict[tuple[CellKey, int | None, str | None], int] = {}
    for t in tallied:
        taxon = taxa.get(t.taxon_id) if t.taxon_id is not None else None
        group = (
            (t.key, rolled_up(taxon, rank, taxa).id, None)
            if taxon is not None
            else (t.key, None, t.label)
        )
        sums[group] = sums.get(group, 0) + t.occurrences
    rows = [
        CountRow(*key, taxa[taxon_id] if taxon_id is not None else None, label, n)
        for (key, taxon_id, label), n in sums.items()
        if n
    ]
    return sorted(rows, key=_row_order)


def _row_order(row: CountRow) -> tuple[object, ...]:
    cell = (row.deployment_id, row.event_id, row.night, row.hour)
    name = row.taxon.scientific_name if row.taxon else (row.label or "")
    return (*((v is None, v or 0) for v in cell), row.taxon is None, -row.individuals, name)
