"""A project's counts as rows: individuals per taxon and night, event, deployment or hour,
as JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.domain.ecology.listings import CountBy, count_dimensions
from trapline.domain.ecology.species import Scope
from trapline.domain.taxa.taxa import ROLL_UP_RANKS, Rank
from trapline.errors import InvalidInput
from trapline.http.params import Id, QueryDate, QueryId, QueryPipeline
from trapline.schemas.listings import CountTableOut, count_table_json
from trapline.services.ecology import listings

router = APIRouter(tags=["taxa"])

#: The dimensions of a count table.
By = Annotated[
    str,
    Query(
        min_length=1,
        max_length=100,
        description="comma-separated: deployment, event, night, hour (night: the default)",
    ),
]
#: The rank a count table rolls its taxa up to.
RollUp = Annotated[
    Rank | None,
    Query(description="roll taxa up to this rank: " + ", ".join(r.value for r in ROLL_UP_RANKS)),
]


@router.get(
    "/projects/{project_id}/counts",
    response_model=CountTableOut,
    responses={200: {"content": {"text/csv": {}}, "description": "the table (CSV: format=csv)"}},
)
def count_table(
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    by: By = CountBy.NIGHT.value,
    rank: RollUp = None,
    deployment: QueryId = None,
    since: QueryDate = None,
    until: QueryDate = None,
    pipeline: QueryPipeline = None,
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Response:
    """Individuals per taxon in each cell of ``by`` (a night, event, deployment or hour of
    the camera's clock), cells with none left out; ``format=csv`` for a spreadsheet.

    ``since`` and ``until`` (both included) are nights, named by their evening's date. Taxa
    ranked above ``rank`` (or without an ancestor of that rank) are counted as themselves.
    """
    try:
        dimensions = count_dimensions(by)
    except ValueError as exc:
        raise InvalidInput(f"by: {exc}") from None
    scope = Scope(project_id, deployment, since, until, pipeline=pipeline)
    if format == "csv":
        name, data = listings.count_table_csv(db, caller, scope, dimensions, rank)
        return Response(
            data,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    table = listings.count_table(db, caller, scope, dimensions, rank)
    body = count_table_json(table.pipeline, table.by, table.rank, table.rows, table.deployments)
    return Response(body, media_type="application/json")
