"""camtrapR's tables as CSV (docs/analysis.md): the record table, streamed a few thousand rows
at a time; the camera-operation matrix and a detection history, a row per station, a few
stations at a time. Cells
outside a camera's operation are ``NA``, as R writes them; every text cell follows the
formula rule of ``cells.py``."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence

from trapline.domain.exports.camera_operation import History, Operation
from trapline.domain.exports.record_table import (
    RECORD_COLUMNS,
    RECORD_NUMBERS,
    Record,
    record_values,
)
from trapline.exports.base import CsvFile

#: Rows written at a time.
_BATCH = 5_000
#: Cells of a matrix written at a time.
_CELLS = 200_000
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


def operation_csv(operation: Operation) -> Iterator[bytes]:
    """The camera-operation matrix: a row per station, a column per day (1, 0.5, 0 or NA),
    made a few stations at a time."""
    days = [d.isoformat() for d in operation.days]
    columns = ["Station", "deployment_id", "setup", "retrieval", *days]
    rows = (
        [r.station, str(r.deployment_id), _text(r.setup), _text(r.retrieval),
         *(_cell(c) for c in r.cells)]
        for r in operation.rows
    )  # fmt: skip
    return _table(columns, ["deployment_id", *days], rows)


def history_csv(history: History, *, effort: bool) -> Iterator[bytes]:
    """A detection history: a row per station, a column per occasion (o1, o2, ...), then,
    with ``effort``, each occasion's operating days (effort_o1, ...); made a few stations at
    a time."""
    occasions = [f"o{k}" for k in range(1, history.occasions + 1)]
    efforts = [f"effort_{o}" for o in occasions] if effort else []
    columns = ["Station", "deployment_id", "start", *occasions, *efforts]

    def rows() -> Iterator[list[str]]:
        for r in history.rows:
            row = [r.station, str(r.deployment_id), _text(r.start), *(_cell(c) for c in r.cells)]
            if effort:
                row += [_cell(e) for e in r.effort]
            yield row

    return _table(columns, ["deployment_id", *occasions, *efforts], rows())


def _table(
    columns: Sequence[str], numbers: Sequence[str], rows: Iterable[list[str]]
) -> Iterator[bytes]:
    """The rows as CSV, in pieces of about ``_CELLS`` cells: a matrix of millions of cells is
    never held as text whole."""
    out = io.BytesIO()
    writer = CsvFile(out, columns, numbers=numbers)
    cells = 0
    for row in rows:
        writer.add(row)
        cells += len(row)
        if cells >= _CELLS:
            yield _taken(writer, out)
            cells = 0
    yield _taken(writer, out)


def _taken(writer: CsvFile, out: io.BytesIO) -> bytes:
    """What the writer holds, written and taken out of ``out``."""
    writer.flush()
    data = out.getvalue()
    out.seek(0)
    out.truncate()
    return data


#: The text of the cells most tables hold (one string each, not one per cell).
_CELL_TEXT: dict[float | None, str] = {None: NA, 0.5: "0.5", **{n: str(n) for n in range(32)}}


def _cell(value: float | None) -> str:
    text = _CELL_TEXT.get(value)
    return text if text is not None else str(value)


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    isoformat = getattr(value, "isoformat", None)
    return str(isoformat()) if isoformat is not None else str(value)
