"""camtrapR's tables as JSON: the record table streamed as it is read, the camera operation
and a detection history as one document each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from pydantic_core import to_json

from trapline.domain.exports.camera_operation import Operation
from trapline.domain.exports.record_table import RECORD_COLUMNS, record_values
from trapline.services.exports.camtrap import DetectionHistory, RecordTable

#: Records joined into one piece of the streamed answer.
_PIECE = 1_000


def record_table_json(table: RecordTable) -> Iterator[bytes]:
    """``{"pipeline", "min_delta_minutes", "delta_compared_to", "remove_duplicate_records",
    "results": [...], "count"}``, a result per record with the CSV's columns, in pieces as
    the records are read."""
    head = {
        "pipeline": table.pipeline,
        "min_delta_minutes": table.rule.min_delta_minutes,
        "delta_compared_to": table.rule.compared_to.value,
        "remove_duplicate_records": table.rule.drops_duplicates,
    }
    yield to_json(head)[:-1] + b',"results":['
    count = 0
    piece: list[dict[str, Any]] = []
    for record in table.records:
        piece.append(dict(zip(RECORD_COLUMNS, record_values(record), strict=True)))
        if len(piece) == _PIECE:
            yield (b"," if count else b"") + to_json(piece)[1:-1]
            count += len(piece)
            piece = []
    if piece:
        yield (b"," if count else b"") + to_json(piece)[1:-1]
        count += len(piece)
    yield b'],"count":' + str(count).encode() + b"}"


def operation_json(operation: Operation) -> dict[str, Any]:
    """The matrix: its days, and a row per station with a cell per day (1, 0.5, 0, null:
    NA)."""
    return {
        "empty_days": operation.empty_days.value,
        "setup_days": operation.setup_days.value,
        "days": [d.isoformat() for d in operation.days],
        "rows": [
            {
                "station": r.station,
                "deployment_id": r.deployment_id,
                "setup": _day(r.setup),
                "retrieval": _day(r.retrieval),
                "operation": list(r.cells),
            }
            for r in operation.rows
        ],
    }


def history_json(made: DetectionHistory, *, effort: bool) -> dict[str, Any]:
    """The history: how it was cut, and a row per station with a cell per occasion (null:
    NA), and its operating days per occasion with ``effort``."""
    h, o, taxon = made.history, made.occasions, made.taxon
    rows = []
    for r in h.rows:
        row: dict[str, Any] = {
            "station": r.station,
            "deployment_id": r.deployment_id,
            "start": _day(r.start),
            "detections": list(r.cells),
        }
        if effort:
            row["effort"] = list(r.effort)
        rows.append(row)
    return {
        "pipeline": made.pipeline,
        "taxon": {
            "id": taxon.id,
            "scientific_name": taxon.scientific_name,
            "rank": taxon.rank.value,
        },
        "occasion_length": o.length,
        "day1": o.day1.value,
        "output": o.output.value,
        "min_active_days": o.min_active_days,
        "min_delta_minutes": made.rule.min_delta_minutes,
        "delta_compared_to": made.rule.compared_to.value,
        "remove_duplicate_records": made.rule.drops_duplicates,
        "empty_days": made.operation.empty_days.value,
        "setup_days": made.operation.setup_days.value,
        "occasions": h.occasions,
        "occasion_starts": [d.isoformat() for d in h.occasion_starts],
        "rows": rows,
        "warnings": made.warnings,
    }


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None
