"""Who may see and do what in a project. Non-members learn nothing: they get 404."""

from __future__ import annotations

from typing import TypeVar

from trapline.db.repositories import Repos
from trapline.domain.records import Project, User
from trapline.domain.roles import Role
from trapline.errors import NotFound, PermissionDenied

T = TypeVar("T")


def project_for(repos: Repos, caller: User, project_id: int, needed: Role) -> tuple[Project, Role]:
    """The project and the caller's role in it, if the caller has at least ``needed``.

    Admins act as owners everywhere. A caller who is not a member gets NotFound, exactly as
    for a project that does not exist; a member whose role is too low gets PermissionDenied.
    """
    project = repos.projects.get(project_id)
    role = (
        Role.OWNER
        if caller.is_admin
        else (repos.projects.role_of(project_id, caller.id) if project else None)
    )
    if project is None or role is None:
        raise NotFound(f"project {project_id} not found")
    if not role.allows(needed):
        raise PermissionDenied(
            f"this needs the {needed.value} role in project {project_id}; you are {role.value}"
        )
    return project, role


def worker_project(repos: Repos, caller: User, project_id: int) -> Project:
    """A project the caller may work in as a processing service (pull tasks, post results).

    Service accounts need only their membership; people need the member role.
    """
    needed = Role.VIEWER if caller.is_service else Role.MEMBER
    project, _ = project_for(repos, caller, project_id, needed)
    return project


def require(found: T | None, kind: str, object_id: int) -> T:
    """``found``, or NotFound in the same words as for an object the caller may not see."""
    if found is None:
        raise NotFound(f"{kind} {object_id} not found")
    return found
