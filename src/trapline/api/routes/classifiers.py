"""Classifier heads refitted from people's identifications (docs/evaluation.md, decision 069)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trapline.api.deps import CurrentUser, DatabaseDep, PhotosDep, RefitRunnerDep, StarterDep
from trapline.domain.processing.jobs import TaskCounts
from trapline.http.params import MAX_ID, Id
from trapline.schemas.classifiers import (
    ClassifierCreated,
    ClassifierIn,
    ClassifierOut,
    RefitScoresOut,
)
from trapline.schemas.common import ErrorOut
from trapline.schemas.jobs import JobOut, job_out
from trapline.services.review import classifiers, promotion, refit_scores

router = APIRouter(tags=["evaluation"])


@router.post(
    "/projects/{project_id}/classifiers",
    status_code=202,
    responses={
        400: {
            "model": ErrorOut,
            "description": "No such pipeline (features_from: a slug, slug@N, or crops:slug for "
            "trapline's descriptors of its boxes), vectors of several lengths, or too few "
            "identifications: says what is missing.",
        },
        409: {"model": ErrorOut, "description": "The project has a classifier of that name."},
    },
)
def create_classifier(
    project_id: Id, body: ClassifierIn, caller: CurrentUser, db: DatabaseDep, runner: RefitRunnerDep
) -> ClassifierCreated:
    """Refit a classifier head on the project's identifications (members); poll it until fitted."""
    made = classifiers.create_classifier(
        db, runner, caller, project_id, body.name, body.features_from
    )
    return ClassifierCreated(id=made.id, status=made.status.value)


@router.get("/projects/{project_id}/classifiers")
def list_classifiers(project_id: Id, caller: CurrentUser, db: DatabaseDep) -> dict[str, object]:
    """The project's refits, newest first."""
    found = [ClassifierOut.of(c) for c in classifiers.list_classifiers(db, caller, project_id)]
    return {"count": len(found), "next": None, "previous": None, "results": found}


@router.get("/classifiers/{classifier_id}")
def get_classifier(classifier_id: Id, caller: CurrentUser, db: DatabaseDep) -> ClassifierOut:
    """One refit: its status and cross-validated figures."""
    return ClassifierOut.of(classifiers.get_classifier(db, caller, classifier_id))


@router.get(
    "/classifiers/{classifier_id}/scores",
    responses={400: {"model": ErrorOut, "description": "The refit is not fitted yet."}},
)
def scores(
    classifier_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    photos: PhotosDep,
    set_id: Annotated[
        int, Query(alias="set", ge=1, le=MAX_ID, description="an evaluation set of the project")
    ],
) -> RefitScoresOut:
    """A fitted refit scored against an evaluation set, beside the model whose features it reads."""
    return RefitScoresOut.of(refit_scores.score_refit(db, caller, classifier_id, set_id, photos))


@router.post(
    "/classifiers/{classifier_id}/promote",
    status_code=201,
    responses={
        400: {
            "model": ErrorOut,
            "description": "The refit is not fitted, or the pipeline whose features it reads "
            "has no boxes in the project to classify.",
        },
        409: {"model": ErrorOut, "description": "The refit is promoted already."},
    },
)
def promote(classifier_id: Id, caller: CurrentUser, db: DatabaseDep, starter: StarterDep) -> JobOut:
    """Promote a fitted refit (members): the next version of the project's
    ``<features>-refit`` pipeline, and the job (run by the platform) that names the current
    boxes of the pipeline whose features it reads; its run counts where a person chooses it."""
    job = promotion.promote(db, caller, classifier_id)
    starter.submit(job.id)
    return JobOut(**job_out(job, TaskCounts()))
