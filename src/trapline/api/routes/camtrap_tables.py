"""A project's camtrapR tables (docs/analysis.md): the record table, the camera-operation
matrix and one taxon's detection history, as JSON or CSV."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.domain.ecology.species import Scope
from trapline.domain.exports.camera_operation import (
    MAX_OCCASION_DAYS,
    Day1,
    EmptyDays,
    HistoryOutput,
    Occasions,
    SetupDays,
)
from trapline.domain.exports.record_table import MAX_DELTA_MINUTES, DeltaReference, Independence
from trapline.errors import InvalidInput
from trapline.exports.camtrap_tables import history_csv, operation_csv, record_table_csv
from trapline.http.params import MAX_ID, Id, QueryDate, QueryId, QueryPipeline
from trapline.schemas.camtrap import history_json, operation_json, record_table_json
from trapline.services.exports import camtrap

router = APIRouter(tags=["events"])

#: A day of the cameras' clocks (not a night).
Day = QueryDate
Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
MinDelta = Annotated[
    float,
    Query(
        ge=0,
        le=MAX_DELTA_MINUTES,
        allow_inf_nan=False,
        description="camtrapR's minDeltaTime: minutes a record of a species at a station "
        "must follow the reference by (0: every sighting is a record)",
    ),
]
ComparedTo = Annotated[
    DeltaReference,
    Query(description="camtrapR's deltaTimeComparedTo: lastRecord or lastIndependentRecord"),
]
Empty = Annotated[
    EmptyDays,
    Query(
        description="a day without a photo between setup and retrieval: off (0, the "
        "default) or operating (1, camtrapR's rule without problem periods)"
    ),
]
Duplicates = Annotated[
    bool,
    Query(
        description="camtrapR's removeDuplicateRecords: sightings of a species at a station in "
        "the same second (two individuals in one photo) are one record (true, the default, as "
        "in camtrapR); false keeps each (with min_delta_minutes above 0 they are one anyway)"
    ),
]
Setup = Annotated[
    SetupDays,
    Query(
        description="a station's setup and retrieval days: half (0.5 each, the default: "
        "camtrapR's rule, setup and retrieval at noon) or whole (1)"
    ),
]
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the table (CSV: format=csv)"}
}


@router.get("/projects/{project_id}/record-table", responses=_CSV)
def record_table(
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    min_delta_minutes: MinDelta = 0,
    delta_compared_to: ComparedTo = DeltaReference.LAST_RECORD,
    remove_duplicate_records: Duplicates = True,
    deployment: QueryId = None,
    taxon: QueryId = None,
    since: Day = None,
    until: Day = None,
    pipeline: QueryPipeline = None,
    format: Format = "json",
) -> Response:
    """camtrapR's record table: a record per station, species and independent sighting,
    streamed; ``format=csv`` for R or a spreadsheet.

    ``since`` and ``until`` (both included) are days of the cameras' clocks. A deployment or
    taxon of another project answers 404, as one that does not exist.
    """
    rule = _independence(min_delta_minutes, delta_compared_to, remove_duplicate_records)
    scope = Scope(project_id, deployment, since, until, pipeline=pipeline)
    table = camtrap.record_table(db, caller, scope, taxon, rule)
    if format == "csv":
        name = f"project-{project_id}-record-table.csv"
        return StreamingResponse(
            record_table_csv(table.records),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return StreamingResponse(record_table_json(table), media_type="application/json")


@router.get("/projects/{project_id}/camera-operation", responses=_CSV)
def camera_operation(
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    deployment: QueryId = None,
    since: Day = None,
    until: Day = None,
    empty_days: Empty = EmptyDays.OFF,
    setup_days: Setup = SetupDays.HALF,
    format: Format = "json",
) -> Response:
    """camtrapR's camera operation: a row per station, a cell per day (1 operating, 0.5 on
    setup and retrieval days, 0 not, null/NA outside them); ``format=csv`` for R or a
    spreadsheet."""
    scope = Scope(project_id, deployment, since, until)
    matrix = camtrap.operation(db, caller, scope, empty_days, setup_days)
    if format == "csv":
        return _csv(operation_csv(matrix), f"project-{project_id}-camera-operation.csv")
    return JSONResponse(operation_json(matrix))


@router.get("/projects/{project_id}/detection-history", responses=_CSV)
def detection_history(
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    taxon: Annotated[int, Query(ge=1, le=MAX_ID, description="a taxon, with every taxon under it")],
    occasion_length: Annotated[
        int, Query(ge=1, le=MAX_OCCASION_DAYS, description="days per occasion")
    ] = 1,
    day1: Annotated[
        Day1,
        Query(description="occasions start at each station's setup, or the survey's first day"),
    ] = Day1.STATION,
    output: Annotated[HistoryOutput, Query(description="binary (1/0) or count")] = (
        HistoryOutput.BINARY
    ),
    min_active_days: Annotated[
        int | None,
        Query(ge=1, le=MAX_OCCASION_DAYS, description="cells with fewer operating days are NA"),
    ] = None,
    include_effort: Annotated[bool, Query(description="each occasion's operating days")] = False,
    min_delta_minutes: MinDelta = 0,
    delta_compared_to: ComparedTo = DeltaReference.LAST_RECORD,
    remove_duplicate_records: Duplicates = True,
    empty_days: Empty = EmptyDays.OFF,
    setup_days: Setup = SetupDays.HALF,
    deployment: QueryId = None,
    since: Day = None,
    until: Day = None,
    pipeline: QueryPipeline = None,
    format: Format = "json",
) -> Response:
    """camtrapR's detection history of a taxon: a row per station, a cell per occasion
    (null/NA where its camera did not operate); ``format=csv`` for R or a spreadsheet.

    A taxon the project never recorded gives zeros, with a warning (in ``warnings``; CSV: the
    ``X-Trapline-Warning`` header). A deployment or taxon of another project answers 404.
    """
    try:
        occasions = Occasions(occasion_length, day1, output, min_active_days)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    rule = _independence(min_delta_minutes, delta_compared_to, remove_duplicate_records)
    scope = Scope(project_id, deployment, since, until, pipeline=pipeline)
    made = camtrap.history(db, caller, scope, taxon, occasions, rule, empty_days, setup_days)
    if format == "csv":
        name = f"project-{project_id}-detection-history-taxon-{taxon}.csv"
        answer = _csv(history_csv(made.history, effort=include_effort), name)
        if made.warnings:
            answer.headers["X-Trapline-Warning"] = (
                made.warnings[0].encode("ascii", "replace").decode()
            )
        return answer
    return JSONResponse(history_json(made, effort=include_effort))


def _independence(
    minutes: float, compared_to: DeltaReference, remove_duplicates: bool
) -> Independence:
    try:
        return Independence(minutes, compared_to, remove_duplicates)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _csv(data: Iterator[bytes], name: str) -> Response:
    return StreamingResponse(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
