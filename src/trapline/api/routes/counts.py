"""Counting: which pipeline a project counts by, and the pipelines it could count by."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.http.params import Id
from trapline.schemas.counts import CompareOut, CountingIn, CountingOut, VersionShareOut
from trapline.schemas.projects import DeploymentOut
from trapline.services.ecology import carrying, compare, counting

router = APIRouter(tags=["taxa"])


@router.get("/projects/{project_id}/counting")
def get_counting(project_id: Id, caller: CurrentUser, db: DatabaseDep) -> CountingOut:
    """The pipeline a project counts by, and each pipeline's occurrences."""
    return CountingOut.of(counting.counting_summary(db, caller, project_id))


@router.put("/deployments/{deployment_id}/counting")
def choose_counting(
    deployment_id: Id, body: CountingIn, caller: CurrentUser, db: DatabaseDep
) -> DeploymentOut:
    """Choose the pipeline a deployment counts by (managers): one with results tracked on it.
    Nothing but a person changes it after; a choice for the project leaves it be."""
    return DeploymentOut.of(carrying.choose_counting(db, caller, deployment_id, body.pipeline))


@router.get("/deployments/{deployment_id}/counting")
def get_deployment_counting(
    deployment_id: Id, caller: CurrentUser, db: DatabaseDep
) -> VersionShareOut:
    """The pipeline a deployment counts by, and which of its versions its photos' current
    results are of (a count of versions 2 and 3 says so)."""
    return VersionShareOut.of(counting.version_share(db, caller, deployment_id))


@router.get("/deployments/{deployment_id}/compare")
def compare_on_deployment(
    deployment_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    a: Annotated[str, Query(min_length=1, max_length=266, description="slug or slug@version")],
    b: Annotated[str, Query(min_length=1, max_length=266, description="slug or slug@version")],
) -> CompareOut:
    """Two pipelines, or two versions of one, on the deployment's photos both ran on: the
    boxes only one drew, those both drew (moved or named otherwise), and what each counts."""
    return CompareOut.of(compare.compare_deployment(db, caller, deployment_id, a, b))
