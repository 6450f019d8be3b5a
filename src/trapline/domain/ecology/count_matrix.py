"""A count table by night laid out as a matrix: a row per taxon (or label that names no taxon),
a column per night, individuals in the cells (docs/analysis.md, "Counts as rows").

The columns are the nights something was counted in, in order; a night with nothing counted
has no column (the counts do not say whether a camera ran that night).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from trapline.domain.ecology.listings import CountRow
from trapline.domain.taxa.taxa import Taxon


@dataclass(frozen=True)
class MatrixRow:
    """A taxon's (or a label's, or the undetermined's) individuals, night by night."""

    taxon: Taxon | None
    #: The label of occurrences that name no taxon (None with a taxon, or undetermined).
    label: str | None
    #: Individuals in each of the matrix's nights, in its order.
    cells: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.cells)


@dataclass(frozen=True)
class CountMatrix:
    """Taxa by nights: rows with the most individuals first (taxa before labels, then by name)."""

    nights: tuple[date, ...]
    rows: tuple[MatrixRow, ...]

    def last(self, count: int) -> CountMatrix:
        """The matrix of its last ``count`` nights, without the rows that have none there."""
        if len(self.nights) <= count:
            return self
        kept = [
            MatrixRow(r.taxon, r.label, r.cells[-count:])
            for r in self.rows
            if any(r.cells[-count:])
        ]
        return CountMatrix(self.nights[-count:], tuple(sorted(kept, key=_order)))

    @property
    def totals(self) -> tuple[int, ...]:
        """Each night's individuals, every row together."""
        return tuple(sum(column) for column in zip(*(r.cells for r in self.rows), strict=True))


def count_matrix(rows: Iterable[CountRow]) -> CountMatrix:
    """The matrix of a count table's rows by night (rows of other dimensions, or without a
    night, are refused with ValueError: their cells would be added up silently)."""
    found: dict[tuple[int | None, str | None], tuple[Taxon | None, dict[date, int]]] = {}
    nights: set[date] = set()
    for row in rows:
        others = (row.deployment_id, row.event_id, row.hour)
        if row.night is None or any(v is not None for v in others):
            raise ValueError("a count matrix is made of a table by night alone")
        key = (row.taxon.id if row.taxon else None, row.label)
        _, cells = found.setdefault(key, (row.taxon, {}))
        cells[row.night] = cells.get(row.night, 0) + row.individuals
        nights.add(row.night)
    ordered = tuple(sorted(nights))
    made = [
        MatrixRow(taxon, label, tuple(cells.get(n, 0) for n in ordered))
        for (_, label), (taxon, cells) in found.items()
    ]
    return CountMatrix(ordered, tuple(sorted(made, key=_order)))


def _order(row: MatrixRow) -> tuple[bool, int, str]:
    name = row.taxon.scientific_name if row.taxon else (row.label or "")
    return (row.taxon is None, -row.total, name)
