"""A count table as CSV: a row per taxon (or unmapped label) and cell, the columns of the
dimensions the table is split by, then the taxon and its individuals (docs/analysis.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO

from trapline.domain.listings import CountBy, CountRow
from trapline.exports.base import CsvFile

#: Each dimension's columns.
_DIMENSION_COLUMNS = {
    CountBy.DEPLOYMENT: ("deployment_id", "deployment"),
    CountBy.EVENT: ("event_id",),
    CountBy.NIGHT: ("night",),
    CountBy.HOUR: ("hour",),
}
#: The columns every table has, after its dimensions'.
TAXON_COLUMNS = ("taxon_id", "scientific_name", "rank", "label", "individuals")
#: The columns that hold numbers (written as they are; the others are text, made safe).
NUMBERS = ("deployment_id", "event_id", "hour", "taxon_id", "individuals")
#: Rows written at a time.
_BATCH = 5_000


def count_columns(by: Sequence[CountBy]) -> tuple[str, ...]:
    """The table's columns, in order."""
    return (*(c for d in by for c in _DIMENSION_COLUMNS[d]), *TAXON_COLUMNS)


def write_count_table(
    rows: Sequence[CountRow],
    by: Sequence[CountBy],
    deployments: Mapping[int, str],
    out: IO[bytes],
) -> None:
    """Write the rows, their header first, as UTF-8 CSV."""
    columns = count_columns(by)
    writer = CsvFile(out, columns, numbers=[c for c in NUMBERS if c in columns])
    for n, row in enumerate(rows, 1):
        taxon = row.taxon
        cells = {
            "deployment_id": _text(row.deployment_id),
            "deployment": deployments.get(row.deployment_id, "") if row.deployment_id else "",
            "event_id": _text(row.event_id),
            "night": row.night.isoformat() if row.night else "",
            "hour": _text(row.hour),
            "taxon_id": _text(taxon.id if taxon else None),
            "scientific_name": taxon.scientific_name if taxon else "",
            "rank": taxon.rank.value if taxon else "",
            "label": row.label or "",
            "individuals": str(row.individuals),
        }
        writer.add([cells[c] for c in columns])
        if n % _BATCH == 0:
            writer.flush()
    writer.flush()


def _text(value: int | None) -> str:
    return "" if value is None else str(value)
