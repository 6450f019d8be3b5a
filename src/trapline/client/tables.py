"""A project's results as tables (docs/analysis.md): its listings, counts and camtrapR's
tables as ``Rows``, for loops and pandas."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from trapline.client.rows import Rows


class Reader(Protocol):
    """What the tables read the API with (``Client``'s calls)."""

    def get(self, path: str, **params: Any) -> Any: ...
    def stream(self, path: str, **params: Any) -> AbstractContextManager[Iterator[str]]: ...
    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]: ...


#: The record table's columns (camtrapR's, then trapline's), and those holding numbers.
RECORD_COLUMNS = [
    "Station", "Species", "DateTimeOriginal", "Date", "Time", "delta.time.secs",
    "delta.time.mins", "delta.time.hours", "delta.time.days", "Directory", "FileName",
    "deployment_id", "taxon_id", "occurrence_id", "utc_offset_minutes",
]  # fmt: skip
_RECORD_NUMBERS = frozenset(RECORD_COLUMNS[5:9] + RECORD_COLUMNS[11:])
#: The count table's columns, in order (a table has those of its ``by``).
COUNT_COLUMNS = [
    "deployment_id", "deployment", "event_id", "night", "hour", "taxon_id", "scientific_name",
    "rank", "label", "individuals",
]  # fmt: skip


def listing(client: Reader, path: str, params: dict[str, Any], columns: list[str]) -> Rows:
    """Every result of a listing, page after page."""

    def read(_: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return client.pages(path, **params)

    return Rows(read, columns=columns)


def counts(client: Reader, project_id: int, params: dict[str, Any]) -> Rows:
    """A count table's rows (one request)."""

    def read(meta: dict[str, Any]) -> Iterator[dict[str, Any]]:
        table = client.get(f"/projects/{project_id}/counts", **params)
        meta.update({k: v for k, v in table.items() if k != "rows"})
        return iter(table["rows"])

    return Rows(read, columns=COUNT_COLUMNS)


def record_table(client: Reader, project_id: int, params: dict[str, Any]) -> Rows:
    """The record table, streamed as CSV and read a row at a time (a million photos' table
    is never held whole), numbers as numbers."""

    def read(_: dict[str, Any]) -> Iterator[dict[str, Any]]:
        path = f"/projects/{project_id}/record-table"
        with client.stream(path, **params, format="csv") as lines:
            for row in csv.DictReader(lines):
                yield {k: _typed(k, v) for k, v in row.items()}

    return Rows(read, columns=RECORD_COLUMNS)


def camera_operation(client: Reader, project_id: int, params: dict[str, Any]) -> Rows:
    """The camera-operation matrix: a row per station, a column per day (1, 0.5, 0, None: NA)."""

    def read(meta: dict[str, Any]) -> Iterator[dict[str, Any]]:
        matrix = client.get(f"/projects/{project_id}/camera-operation", **params)
        meta.update({k: v for k, v in matrix.items() if k != "rows"})
        for r in matrix["rows"]:
            head = {k: r[k] for k in ("station", "deployment_id", "setup", "retrieval")}
            yield head | dict(zip(matrix["days"], r["operation"], strict=True))

    return Rows(read, columns=["station", "deployment_id", "setup", "retrieval"])


def detection_history(client: Reader, project_id: int, params: dict[str, Any]) -> Rows:
    """A detection history: a row per station, a column per occasion (o1, o2, ...; None:
    NA), then with ``include_effort`` each occasion's operating days (effort_o1, ...)."""

    def read(meta: dict[str, Any]) -> Iterator[dict[str, Any]]:
        found = client.get(f"/projects/{project_id}/detection-history", **params)
        meta.update({k: v for k, v in found.items() if k != "rows"})
        for r in found["rows"]:
            row = {k: r[k] for k in ("station", "deployment_id", "start")}
            row.update({f"o{n}": v for n, v in enumerate(r["detections"], 1)})
            row.update({f"effort_o{n}": v for n, v in enumerate(r.get("effort", []), 1)})
            yield row

    return Rows(read, columns=["station", "deployment_id", "start"])


def _typed(column: str, text: str) -> Any:
    if column not in _RECORD_NUMBERS:
        return text
    if text == "":
        return None
    number = float(text)
    return int(number) if number.is_integer() and "." not in text else number
