"""Evaluation sets: people's identifications frozen under a name, and model versions scored
against them, as JSON or CSV (docs/evaluation.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.http.params import Id
from trapline.protocol.base import ONE_LINE
from trapline.schemas.common import ErrorOut
from trapline.schemas.evaluation import EvaluationSetIn, EvaluationSetOut, ScoresOut
from trapline.services.review import evaluation

router = APIRouter(tags=["evaluation"])

#: The pipeline a scoring is of (its slug).
PipelineSlug = Annotated[
    str,
    Query(min_length=1, max_length=255, pattern=ONE_LINE, description="the pipeline's slug"),
]
#: The version scored; none: the pipeline's newest.
PipelineVersion = Annotated[
    int | None, Query(ge=1, le=2**31 - 1, description="the version (none: the newest)")
]


@router.post(
    "/projects/{project_id}/evaluation-sets",
    status_code=201,
    responses={
        400: {"model": ErrorOut, "description": "A deployment or taxon not of the project."},
        409: {"model": ErrorOut, "description": "The project has a set of that name."},
    },
)
def create_set(
    project_id: Id, body: EvaluationSetIn, caller: CurrentUser, db: DatabaseDep
) -> EvaluationSetOut:
    """Freeze the project's identifications into a named evaluation set (members)."""
    made, note = evaluation.create_set(
        db, caller, project_id, body.name, deployment_id=body.deployment_id, since=body.since,
        until=body.until, taxa=body.taxa,
    )  # fmt: skip
    return EvaluationSetOut.of(made, note)


@router.get("/projects/{project_id}/evaluation-sets")
def list_sets(project_id: Id, caller: CurrentUser, db: DatabaseDep) -> dict[str, object]:
    """The project's evaluation sets, newest first."""
    found = [EvaluationSetOut.of(s) for s in evaluation.list_sets(db, caller, project_id)]
    return {"count": len(found), "next": None, "previous": None, "results": found}


@router.get("/evaluation-sets/{set_id}")
def get_set(set_id: Id, caller: CurrentUser, db: DatabaseDep) -> EvaluationSetOut:
    """One evaluation set."""
    return EvaluationSetOut.of(evaluation.get_set(db, caller, set_id))


@router.get(
    "/evaluation-sets/{set_id}/scores",
    response_model=ScoresOut,
    responses={
        200: {"content": {"text/csv": {}}, "description": "the scores (CSV: format=csv)"},
        400: {
            "model": ErrorOut,
            "description": "No such pipeline or version: names those there are.",
        },
    },
)
def scores(
    set_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    pipeline: PipelineSlug,
    version: PipelineVersion = None,
    format: Annotated[
        Literal["json", "csv", "confusion-csv"],
        Query(description="json (default), csv (a row per taxon) or confusion-csv"),
    ] = "json",
) -> Response:
    """A model version scored against an evaluation set: per taxon, overall, and its boxes."""
    scored = evaluation.score(db, caller, set_id, pipeline, version)
    if format == "json":
        return Response(ScoresOut.of(scored).model_dump_json(), media_type="application/json")
    write = evaluation.scores_csv if format == "csv" else evaluation.confusion_csv
    name, text = write(scored)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
