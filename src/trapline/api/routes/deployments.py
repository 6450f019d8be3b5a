"""Deployments: camera and trap stations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.http.pagination import offset_page
from trapline.http.params import DEFAULT_LIMIT, Id, Limit, Offset
from trapline.http.state import platform_of
from trapline.schemas.projects import DeploymentIn, DeploymentOut, DeploymentPatch
from trapline.services.photos import deployments

router = APIRouter(tags=["deployments"])


@router.post("/projects/{project_id}/deployments", status_code=201)
def create_deployment(
    project_id: Id, body: DeploymentIn, caller: CurrentUser, db: DatabaseDep
) -> DeploymentOut:
    """Add a deployment to a project (members)."""
    made = deployments.create_deployment(db, caller, project_id, **body.model_dump())
    return DeploymentOut.of(made)


@router.get("/projects/{project_id}/deployments")
def list_deployments(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """A project's deployments."""
    total, found = deployments.list_deployments(db, caller, project_id, limit=limit, offset=offset)
    return offset_page(request, total, [DeploymentOut.of(d) for d in found], limit, offset)


@router.get("/deployments/{deployment_id}")
def get_deployment(deployment_id: Id, caller: CurrentUser, db: DatabaseDep) -> DeploymentOut:
    """One deployment."""
    return DeploymentOut.of(deployments.get_deployment(db, caller, deployment_id))


@router.patch("/deployments/{deployment_id}")
def update_deployment(
    request: Request, deployment_id: Id, body: DeploymentPatch, caller: CurrentUser, db: DatabaseDep
) -> DeploymentOut:
    """Change a deployment (members); send only the fields to change.

    A new ``time_zone`` re-reads its images' capture times in the background: the answer's
    ``reread`` is that re-reading, whose progress ``GET /capture-time-rereads/{id}`` shows.
    """
    values = body.changes()
    updated, reread = deployments.update_deployment(db, caller, deployment_id, **values)
    if reread is not None:
        platform_of(request).rereads.submit(reread.id)
    return DeploymentOut.of(updated, reread)


@router.delete("/deployments/{deployment_id}", status_code=204)
def delete_deployment(deployment_id: Id, caller: CurrentUser, db: DatabaseDep) -> Response:
    """Remove a deployment (managers); its images stay in the project."""
    deployments.delete_deployment(db, caller, deployment_id)
    return Response(status_code=204)
