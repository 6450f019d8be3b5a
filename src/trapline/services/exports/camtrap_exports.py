"""camtrapR's tables as export files (``record-table``, ``camera-operation``,
``detection-hist``): written in the background, as every export is, from the same reads as
the API's tables. The export's maker was checked when it was made; here its filters become
the tables' scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from trapline.db.engine import Database
from trapline.domain.ecology.species import Scope
from trapline.domain.exports.camera_operation import EmptyDays, SetupDays
from trapline.domain.exports.exports import Export, ExportFormat
from trapline.domain.exports.record_table import DeltaReference, Independence, Record, records
from trapline.errors import TraplineError
from trapline.exports.camtrap_tables import history_csv, operation_csv, record_table_csv
from trapline.services.ecology.counting import with_pipeline
from trapline.services.exports.camtrap import cut_history, operation_matrix, sightings
from trapline.services.exports.exports import occasions_of


class Rows:
    """How many rows a table export wrote so far, and what it warns about."""

    def __init__(self) -> None:
        self.count = 0
        self.warnings: list[str] = []

    def counted(self, found: Iterator[Record]) -> Iterator[Record]:
        for record in found:
            self.count += 1
            yield record


def table_file(db: Database, export: Export, rows: Rows) -> Iterator[bytes]:
    """The export's file, in pieces (the record table streams); ``rows`` counts its rows."""
    f, fmt = export.filters, export.format
    scope = Scope(export.project_id, f.deployment_id, f.date_from, f.date_to, pipeline=f.pipeline)
    compared = DeltaReference(f.delta_compared_to or DeltaReference.LAST_RECORD.value)
    rule = Independence(f.min_delta_minutes or 0, compared, f.remove_duplicate_records)
    empty_days = EmptyDays(f.empty_days or EmptyDays.OFF.value)
    setup_days = SetupDays(f.setup_days or SetupDays.HALF.value)
    with db.read() as repos:
        counted = with_pipeline(repos, replace(scope, since=None, until=None))
        scope = replace(counted, since=scope.since, until=scope.until)
        if fmt is ExportFormat.RECORD_TABLE:
            found = (
                records(sightings(db, scope, None), rule) if not scope.counts_nothing else iter(())
            )
            pieces = record_table_csv(rows.counted(found))
        else:
            matrix = operation_matrix(repos, scope, empty_days, setup_days)
            taxon = repos.taxa.taxa.get(f.taxon_id) if f.taxon_id is not None else None
    if fmt is ExportFormat.RECORD_TABLE:
        yield from pieces
    elif fmt is ExportFormat.CAMERA_OPERATION:
        rows.count = len(matrix.rows)
        yield from operation_csv(matrix)
    else:
        if taxon is None:
            raise TraplineError(f"taxon {f.taxon_id} was deleted")
        made = cut_history(db, scope, taxon, matrix, occasions_of(f), rule)
        rows.count = len(made.history.rows)
        rows.warnings = made.warnings
        yield from history_csv(made.history, effort=f.include_effort)
