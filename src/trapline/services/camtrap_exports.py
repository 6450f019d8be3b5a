"""camtrapR's tables as export files (``record-table``, ``camera-operation``): written in the
background, as every export is, from the same reads as the API's tables. The export's maker
was checked when it was made; here its filters become the tables' scope."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from trapline.db.engine import Database
from trapline.domain.camera_operation import EmptyDays
from trapline.domain.exports import Export, ExportFormat
from trapline.domain.record_table import DeltaReference, Independence, Record, records
from trapline.domain.species import Scope
from trapline.exports.camtrap_tables import operation_csv, record_table_csv
from trapline.services.camtrap import operation_matrix, sightings
from trapline.services.counting import with_pipeline


class Rows:
    """How many rows a table export wrote so far."""

    def __init__(self) -> None:
        self.count = 0

    def counted(self, found: Iterator[Record]) -> Iterator[Record]:
        for record in found:
            self.count += 1
            yield record


def table_file(db: Database, export: Export, rows: Rows) -> Iterator[bytes]:
    """The export's file, in pieces (the record table streams); ``rows`` counts its rows."""
    f = export.filters
    scope = Scope(export.project_id, f.deployment_id, f.date_from, f.date_to, pipeline=f.pipeline)
    with db.read() as repos:
        counted = with_pipeline(repos, replace(scope, since=None, until=None))
        scope = replace(counted, since=scope.since, until=scope.until)
        if export.format is ExportFormat.CAMERA_OPERATION:
            matrix = operation_matrix(repos, scope, EmptyDays.OFF)
            rows.count = len(matrix.rows)
            data = operation_csv(matrix)
    if export.format is ExportFormat.CAMERA_OPERATION:
        yield data
        return
    compared = DeltaReference(f.delta_compared_to or DeltaReference.LAST_RECORD.value)
    rule = Independence(f.min_delta_minutes or 0, compared)
    found = records(sightings(db, scope, None), rule) if scope.pipeline else iter(())
    yield from record_table_csv(rows.counted(found))
