"""A count table as CSV: a row per taxon (or unmapped label) and cell, the columns of the
dimensions the table is split by, then the taxon and its individuals (docs/analysis.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from operator import itemgetter
from typing import IO

from trapline.domain.ecology.count_matrix import CountMatrix
from trapline.domain.ecology.listings import (
    COUNT_COLUMNS,
    CountBy,
    CountRow,
    count_columns,
    row_values,
)
from trapline.exports.base import CsvFile

#: The columns that hold numbers (written as they are; the others are text, made safe).
NUMBERS = ("deployment_id", "event_id", "hour", "taxon_id", "individuals")
#: Rows written at a time.
_BATCH = 5_000


def write_count_table(
    rows: Iterable[CountRow],
    by: Sequence[CountBy],
    deployments: Mapping[int, str],
    out: IO[bytes],
) -> None:
    """Write the rows, their header first, as UTF-8 CSV."""
    columns = count_columns(by)
    taken = itemgetter(*(COUNT_COLUMNS.index(c) for c in columns))
    writer = CsvFile(out, columns, numbers=[c for c in NUMBERS if c in columns])
    for n, row in enumerate(rows, 1):
        writer.add([_text(v) for v in taken(row_values(row, deployments))])
        if n % _BATCH == 0:
            writer.flush()
    writer.flush()


#: The matrix's columns before its nights.
MATRIX_COLUMNS = ("taxon_id", "scientific_name", "rank", "label")


def write_count_matrix(matrix: CountMatrix, out: IO[bytes]) -> None:
    """Write a taxa by nights matrix as UTF-8 CSV: a row per taxon (or label), the taxon's
    columns, then a column per night (its date) holding individuals, 0 where none."""
    nights = [n.isoformat() for n in matrix.nights]
    writer = CsvFile(out, [*MATRIX_COLUMNS, *nights], numbers=["taxon_id", *nights])
    for n, row in enumerate(matrix.rows, 1):
        taxon = row.taxon
        named = (taxon.id, taxon.scientific_name, taxon.rank.value) if taxon else (None,) * 3
        writer.add([_text(v) for v in (*named, row.label, *row.cells)])
        if n % _BATCH == 0:
            writer.flush()
    writer.flush()


def _text(value: object) -> str:
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, date) else str(value)
