"""A project's occurrences and events as listings, and its counts as rows (docs/analysis.md):
what a listing is filtered by and ordered by, and how tallies become the rows of a count
table (taxa rolled up to a rank, a row per taxon and cell, individuals in each)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from itertools import chain, groupby
from operator import itemgetter
from typing import NamedTuple

from trapline.domain.ecology.events import night_end, night_start
from trapline.domain.ecology.occurrences import DeterminedBy
from trapline.domain.ecology.species import rolled_up
from trapline.domain.taxa.taxa import Rank, Taxon


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
    return night_start(since) if since else None, night_end(until) if until else None


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
#: Occurrences of one taxon (or, naming none, one label) in one cell, as read: deployment,
#: event, night, hour (None where the table is not split by it), taxon id, label, occurrences.
Tallied = tuple[int | None, int | None, date | None, int | None, int | None, str | None, int]


class CountRow(NamedTuple):
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


#: Every column a count table can have, in order: a table has those of its dimensions
#: (``count_columns``).
COUNT_COLUMNS = (
    "deployment_id", "deployment", "event_id", "night", "hour",
    "taxon_id", "scientific_name", "rank", "label", "individuals",
)  # fmt: skip
#: Each dimension's columns.
_DIMENSION_COLUMNS = {
    CountBy.DEPLOYMENT: ("deployment_id", "deployment"),
    CountBy.EVENT: ("event_id",),
    CountBy.NIGHT: ("night",),
    CountBy.HOUR: ("hour",),
}


def count_columns(by: Iterable[CountBy]) -> tuple[str, ...]:
    """The columns of a table split by ``by``, in order: its dimensions', then the taxon's
    and the individuals."""
    dimensions = {c for d in by for c in _DIMENSION_COLUMNS[d]}
    every_table = COUNT_COLUMNS[5:]
    return tuple(c for c in COUNT_COLUMNS if c in dimensions or c in every_table)


def row_values(row: CountRow, deployments: Mapping[int, str]) -> tuple[object, ...]:
    """A row's value in each of ``COUNT_COLUMNS`` (a deployment by its id and its name)."""
    taxon = row.taxon
    return (
        row.deployment_id,
        deployments.get(row.deployment_id) if row.deployment_id is not None else None,
        row.event_id,
        row.night,
        row.hour,
        taxon.id if taxon else None,
        taxon.scientific_name if taxon else None,
        taxon.rank.value if taxon else None,
        row.label,
        row.individuals,
    )


def count_rows(
    tallied: Iterable[Tallied], taxa: Mapping[int, Taxon], rank: Rank | None
) -> list[CountRow]:
    """The rows of a count table (``count_cells``) in one list."""
    return list(chain.from_iterable(count_cells(tallied, taxa, rank)))


def count_cells(
    tallied: Iterable[Tallied], taxa: Mapping[int, Taxon], rank: Rank | None
) -> Iterator[list[CountRow]]:
    """The rows of a count table from ``tallied`` in cell order, a cell at a time: each taxon
    rolled up to ``rank`` (a taxon ranked higher, or without an ancestor of that rank, stays
    as itself), summed per cell; within a cell, taxa before labels, most individuals first,
    then by name.

    A table of a large project has hundreds of thousands of rows: each taxon is rolled up and
    named once, only the few rows of one cell are sorted at a time, and a writer that takes
    the cells as they come holds none of them for long (hundreds of thousands of rows held at
    once made the garbage collector's full passes a third of the work)."""
    #: Per taxon id read: the group it counts in (its rolled-up taxon's), as in a cell's sums.
    groups: dict[int, tuple[bool, str, int | None, None]] = {}
    for cell, members in groupby(tallied, _CELL_OF):
        sums: dict[tuple[bool, str, int | None, str | None], int] = {}
        for _, _, _, _, taxon_id, label, n in members:
            group: tuple[bool, str, int | None, str | None]
            if taxon_id is not None and (found := groups.get(taxon_id)) is not None:
                group = found
            elif taxon_id is not None and taxon_id in taxa:
                taxon = rolled_up(taxa[taxon_id], rank, taxa)
                group = groups[taxon_id] = (False, taxon.scientific_name, taxon.id, None)
            else:
                group = (True, label or "", None, label)
            sums[group] = sums.get(group, 0) + n
        yield _cell_rows(cell, sums, taxa)


#: A tallied row's cell.
_CELL_OF = itemgetter(0, 1, 2, 3)
_make_row = CountRow._make


def _cell_rows(
    cell: CellKey,
    sums: dict[tuple[bool, str, int | None, str | None], int],
    taxa: Mapping[int, Taxon],
) -> list[CountRow]:
    """A cell's rows: taxa before labels, most individuals first, then by name. A group is
    (a label's, its name, taxon id, label), so the sort compares plain values."""
    ordered = sorted((unnamed, -n, name, taxon_id, label) for (unnamed, name, taxon_id, label), n
                     in sums.items() if n)  # fmt: skip
    deployment, event, night, hour = cell
    # ``_make``: tuple's own constructor, without the keyword handling of ``CountRow(...)``.
    return [
        _make_row((deployment, event, night, hour, taxa[t] if t is not None else None, label, -k))
        for _, k, _, t, label in ordered
    ]
