"""Projects and their members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from trapline.api.deps import CurrentUser, CurrentWorker, DatabaseDep, StoreDep
from trapline.domain.core.event_rules import ProjectKind
from trapline.domain.core.roles import Role
from trapline.http.pagination import offset_page
from trapline.http.params import DEFAULT_LIMIT, Id, Limit, Offset
from trapline.http.state import platform_of
from trapline.schemas.common import ErrorOut
from trapline.schemas.projects import MemberIn, MemberOut, ProjectIn, ProjectOut, ProjectPatch
from trapline.services.photos import projects

router = APIRouter(tags=["projects"])


@router.post("/projects", status_code=201)
def create_project(
    request: Request, body: ProjectIn, caller: CurrentUser, db: DatabaseDep
) -> ProjectOut:
    """Create a project; you become its owner."""
    welcome = platform_of(request).project_created
    project = projects.create_project(
        db, caller, body.name, body.description, kind=ProjectKind(body.kind), welcome=welcome
    )
    return ProjectOut.of(project, Role.OWNER)


@router.get("/projects")
def list_projects(
    request: Request,
    caller: CurrentWorker,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Projects you belong to."""
    total, found = projects.list_projects(db, caller, limit=limit, offset=offset)
    return offset_page(request, total, [ProjectOut.of(p, role) for p, role in found], limit, offset)


@router.get("/projects/{project_id}")
def get_project(project_id: Id, caller: CurrentUser, db: DatabaseDep) -> ProjectOut:
    """One project, with your role in it."""
    project, role = projects.get_project(db, caller, project_id)
    return ProjectOut.of(project, role)


@router.patch("/projects/{project_id}")
def update_project(
    request: Request, project_id: Id, body: ProjectPatch, caller: CurrentUser, db: DatabaseDep
) -> ProjectOut:
    """Change a project (managers); send only the fields to change.

    A new ``time_zone`` re-reads, in the background, the capture times of the images that
    follow it (those of deployments without a zone of their own, and of none): the answer's
    ``reread`` is that re-reading, whose progress ``GET /capture-time-rereads/{id}`` shows.
    """
    values = body.changes()
    updated, reread = projects.update_project(db, caller, project_id, **values)
    if reread is not None:
        platform_of(request).rereads.submit(reread.id)
    return ProjectOut.of(updated, reread=reread)


@router.delete("/projects/{project_id}", status_code=204)
def delete_project(
    project_id: Id, caller: CurrentUser, db: DatabaseDep, store: StoreDep
) -> Response:
    """Delete a project and everything in it (owners)."""
    projects.delete_project(db, store, caller, project_id)
    return Response(status_code=204)


@router.get("/projects/{project_id}/members")
def list_members(project_id: Id, caller: CurrentUser, db: DatabaseDep) -> dict[str, Any]:
    """The project's members and their roles."""
    members = [MemberOut.of(m) for m in projects.list_members(db, caller, project_id)]
    return {"count": len(members), "next": None, "previous": None, "results": members}


@router.post(
    "/projects/{project_id}/members",
    responses={
        200: {"description": "The person was a member already: their role is the one given."},
        201: {"model": MemberOut, "description": "The person was added with the role given."},
        # What the schema cannot say is answered 404 or 409, never 400: a request the
        # document calls valid is refused only for what the database holds.
        404: {
            "model": ErrorOut,
            "description": "No such project you may see, or no person with this email who "
            "can be added (`no_such_person`: an admin creates accounts).",
        },
        409: {
            "model": ErrorOut,
            "description": "The change would leave the project without an owner, or makes a "
            "service account more than a viewer.",
        },
    },
)
def add_member(
    project_id: Id,
    body: MemberIn,
    caller: CurrentUser,
    db: DatabaseDep,
    response: Response,
) -> MemberOut:
    """Add a member by email or change their role (managers)."""
    member, created = projects.set_member(db, caller, project_id, body.email, body.role)
    response.status_code = 201 if created else 200
    return MemberOut.of(member)


@router.delete("/projects/{project_id}/members/{user_id}", status_code=204)
def remove_member(project_id: Id, user_id: Id, caller: CurrentUser, db: DatabaseDep) -> Response:
    """Remove a member (managers)."""
    projects.remove_member(db, caller, project_id, user_id)
    return Response(status_code=204)
