"""camtrapR's tables as CSV (docs/analysis.md): the record table, streamed a few thousand rows
at a time; the camera-operation matrix and a detection history, a row per station. Cells
outside a camera's operation are ``NA``, as R writes them; every text cell follows the
formula rule of ``cells.py``."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence

from trapline.domain.camera_operation import History, Operation
from trapline.domain.record_table import (
    RECORD_COLUMNS,
    RECORD_NUMBERS,
    Record,
    record_values,
)
from trapline.exports.base import CsvFile

#: Rows written at a time.
_BATCH = 5_000
#: What R writes for a missing value.
NA = "NA"


def record_table_csv(records: Iterable[Record]) -> Iterator[bytes]:
    """The record table as UTF-8 CSV, its header first, in pieces of ``_BATCH`` rows."""
    out = io.BytesIO()
    writer = CsvFile(out, RECORD_COLUMNS, numbers=RECORD_NUMBERS)
    for n, record in enumerate(records, 1):
        writer.add([_text(v) for v in record_values(record)])
        if n % _BATCH == 0:
            yield _taken(writer, out)
    yield _taken(writer, out)


def operation_csv(operation: Operation) -> bytes:
    """The camera-operation matrix: a row per station, a column per day (1, 0 or NA)."""
    days = [d.isoformat() for d in operation.days]
    columns = ["Station", "deployment_id", "setup", "retrieval", *days]
    rows = [
        [r.station, str(r.deployment_id), _text(r.setup), _text(r.retrieval),
         *(_cell(c) for c in r.cells)]
        for r in operation.rows
    ]  # fmt: skip
    return _table(columns, ["deployment_id", *days], rows)


def history_csv(history: History, *, effort: bool) -> bytes:
    """A detection history: a row per station, a column per occasion (o1, o2, ...), then,
    with ``effort``, each occasion's operating days (effort_o1, ...)."""
    occasions = [f"o{k}" for k in range(1, history.occasions + 1)]
    efforts = [f"effort_{o}" for o in occasions] if effort else []
    columns = ["Station", "deployment_id", "start", *occasions, *efforts]
    rows = []
    for r in history.rows:
        row = [r.station, str(r.deployment_id), _text(r.start), *(_cell(c) for c in r.cells)]
        if effort:
            row += [_cell(e) for e in r.effort]
        rows.append(row)
    return _table(columns, ["deployment_id", *occasions, *efforts], rows)


def _table(columns: Sequence[str], numbers: Sequence[str], rows: list[list[str]]) -> bytes:
    out = io.BytesIO()
    writer = CsvFile(out, columns, numbers=numbers)
    for row in rows:
        writer.add(row)
    writer.flush()
    return out.getvalue()


def _taken(writer: CsvFile, out: io.BytesIO) -> bytes:
    """What the writer holds, written and taken out of ``out``."""
    writer.flush()
    data = out.getvalue()
    out.seek(0)
    out.truncate()
    return data


def _cell(value: int | None) -> str:
    return NA if value is None else str(value)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if isoformat is not None else str(value)
