"""Detection scorers: moth-blobs' insect score refitted from box reviews (docs/evaluation.md,
decision 073)."""

from __future__ import annotations

from fastapi import APIRouter

from trapline.api.deps import CurrentUser, DatabaseDep, ScorerRunnerDep, StarterDep
from trapline.domain.processing.jobs import TaskCounts
from trapline.http.params import Id
from trapline.schemas.common import ErrorOut
from trapline.schemas.detection_scorers import ScorerCreated, ScorerIn, ScorerOut
from trapline.schemas.jobs import JobOut, job_out
from trapline.services.review import detection_scorers, scorer_promotion

router = APIRouter(tags=["evaluation"])


@router.post(
    "/projects/{project_id}/detection-scorers",
    status_code=202,
    responses={
        400: {"model": ErrorOut, "description": "Too few box reviews: says what is missing."},
        409: {"model": ErrorOut, "description": "The project has a scorer of that name."},
    },
)
def create_scorer(
    project_id: Id, body: ScorerIn, caller: CurrentUser, db: DatabaseDep, runner: ScorerRunnerDep
) -> ScorerCreated:
    """Refit moth-blobs' insect score on the project's box reviews (members); poll it."""
    made = detection_scorers.create_scorer(db, runner, caller, project_id, body.name)
    return ScorerCreated(id=made.id, status=made.status.value)


@router.get("/projects/{project_id}/detection-scorers")
def list_scorers(project_id: Id, caller: CurrentUser, db: DatabaseDep) -> dict[str, object]:
    """The project's detection scorers, newest first."""
    found = [ScorerOut.of(s) for s in detection_scorers.list_scorers(db, caller, project_id)]
    return {"count": len(found), "next": None, "previous": None, "results": found}


@router.get("/detection-scorers/{scorer_id}")
def get_scorer(scorer_id: Id, caller: CurrentUser, db: DatabaseDep) -> ScorerOut:
    """One detection scorer: its status, weights and held-out figures."""
    return ScorerOut.of(detection_scorers.get_scorer(db, caller, scorer_id))


@router.post(
    "/detection-scorers/{scorer_id}/promote",
    status_code=201,
    responses={
        400: {"model": ErrorOut, "description": "The scorer is not fitted."},
        409: {"model": ErrorOut, "description": "The scorer is promoted already."},
    },
)
def promote(scorer_id: Id, caller: CurrentUser, db: DatabaseDep, starter: StarterDep) -> JobOut:
    """Promote a fitted scorer (members): the next version of the project's
    ``moth-blobs-scorer`` pipeline, and the job (run by the platform) over the project's
    photos; its run counts where a person chooses it."""
    job = scorer_promotion.promote(db, caller, scorer_id)
    starter.submit(job.id)
    return JobOut(**job_out(job, TaskCounts()))
