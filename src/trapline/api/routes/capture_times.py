"""Local times and current results: moving images between deployments, the re-readings of
capture times a zone change starts, and the pipeline versions a project pins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.http.pagination import offset_page
from trapline.http.params import DEFAULT_LIMIT, Id, Limit, Offset, PathSlug
from trapline.schemas.projects import MoveIn, PinIn, RereadOut
from trapline.services.photos import capture_times, projects

router = APIRouter(tags=["local times and current results"])


@router.post("/projects/{project_id}/images/move")
def move_images(
    project_id: Id, body: MoveIn, caller: CurrentUser, db: DatabaseDep
) -> dict[str, int]:
    """Move images into a deployment of the same project (members).

    Their capture times are read again at once in the deployment's time zone (times whose
    file gave an offset keep it). All or nothing: an id that is not an image of the project
    is answered 404, as a missing image is; so is a deployment of another project.
    """
    moved = capture_times.move_images(db, caller, project_id, body.image_ids, body.deployment_id)
    return {"moved": moved}


@router.get("/capture-time-rereads/{reread_id}")
def get_reread(reread_id: Id, caller: CurrentUser, db: DatabaseDep) -> RereadOut:
    """One re-reading of capture times, with its progress."""
    return RereadOut.of(capture_times.get_reread(db, caller, reread_id))


@router.get("/projects/{project_id}/capture-time-rereads")
def list_rereads(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """A project's re-readings of capture times, newest first."""
    total, found = capture_times.list_rereads(db, caller, project_id, limit=limit, offset=offset)
    return offset_page(request, total, [RereadOut.of(r) for r in found], limit, offset)


@router.get("/projects/{project_id}/pinned-pipelines")
def list_pins(project_id: Id, caller: CurrentUser, db: DatabaseDep) -> dict[str, int]:
    """The pipeline versions whose results are current in a project, by slug (pipelines not
    named: their newest version with results)."""
    return projects.pinned_pipelines(db, caller, project_id)


@router.put("/projects/{project_id}/pinned-pipelines/{slug}", status_code=204)
def pin_pipeline(
    project_id: Id, slug: PathSlug, body: PinIn, caller: CurrentUser, db: DatabaseDep
) -> Response:
    """Pin the version of a pipeline whose results are current (managers); a version the
    project does not have is refused (400); null unpins (the newest version counts)."""
    projects.pin_pipeline(db, caller, project_id, slug, body.version)
    return Response(status_code=204)


@router.delete("/projects/{project_id}/pinned-pipelines/{slug}", status_code=204)
def unpin_pipeline(
    project_id: Id, slug: PathSlug, caller: CurrentUser, db: DatabaseDep
) -> Response:
    """Unpin a pipeline: the results of its newest version are current again (managers)."""
    projects.pin_pipeline(db, caller, project_id, slug, None)
    return Response(status_code=204)
