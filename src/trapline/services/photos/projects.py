"""Projects and their members."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.core.event_rules import ProjectKind
from trapline.domain.core.records import Membership, Project, User
from trapline.domain.core.roles import Role
from trapline.domain.photos.local_times import Reread
from trapline.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from trapline.services.core.access import project_for, require_person
from trapline.services.ecology.carrying import count_project_by
from trapline.services.ecology.counting import check_pipeline
from trapline.services.photos.blob_keys import project_blob_prefixes
from trapline.services.photos.capture_times import start_reread
from trapline.services.photos.deployments import check_zone
from trapline.storage.base import BlobStore

#: The one answer for an email that names nobody who can be added, whether it names no one or
#: a service account: the two must not be told apart (emails are not to be enumerated).
NO_SUCH_PERSON = (
    "no person with email {email} can be added; check the address, or ask an admin to create "
    "the account first"
)


def create_project(
    db: Database,
    caller: User,
    name: str,
    description: str,
    *,
    kind: ProjectKind = ProjectKind.OTHER,
    welcome: Sequence[Callable[[int], None]] = (),
) -> Project:
    """Add a project owned by the caller (people only), grouping its photos as its kind
    does; then call each of ``welcome`` with its id (``Platform.project_created``)."""
    require_person(caller)
    with db.write() as repos:
        project = repos.core.projects.create(name, description, caller.id, kind)
    for hook in welcome:
        hook(project.id)
    return project


def list_projects(
    db: Database, caller: User, *, limit: int, offset: int
) -> tuple[int, list[tuple[Project, Role]]]:
    """The projects the caller belongs to (all of them for admins), with the caller's role."""
    with db.read() as repos:
        total, found = repos.core.projects.list_visible(
            caller.id, everything=caller.is_admin, limit=limit, offset=offset
        )
    return total, [(p, Role.OWNER if caller.is_admin else (r or Role.VIEWER)) for p, r in found]


def get_project(db: Database, caller: User, project_id: int) -> tuple[Project, Role]:
    """A project the caller may see, with the caller's role."""
    with db.read() as repos:
        return project_for(repos, caller, project_id, Role.VIEWER)


def update_project(
    db: Database, caller: User, project_id: int, **values: object
) -> tuple[Project, Reread | None]:
    """Change a project's name, description, result keeping or default time zone (managers).
    A new default zone queues a re-reading of the capture times of the images that follow it
    (returned; run it with ``Platform.rereads``)."""
    zone = values.get("time_zone")
    if zone is not None:
        check_zone(str(zone))
    with db.write() as repos:
        current, _ = project_for(repos, caller, project_id, Role.MANAGER)
        if values.get("counting_pipeline") is not None:
            check_pipeline(repos, project_id, str(values["counting_pipeline"]), "counting_pipeline")
        reread = None
        if zone is not None and zone != current.time_zone:
            repos.photos.capture_times.zone_for(project_id, None)  # the project's row, held
            reread = start_reread(repos, project_id, None, str(zone), utcnow())
        updated = repos.core.projects.update(project_id, **values)
        if values.get("counting_pipeline") is not None:
            count_project_by(repos, project_id, str(values["counting_pipeline"]))
    assert updated is not None
    return updated, reread


def pin_pipeline(
    db: Database, caller: User, project_id: int, slug: str, version: int | None
) -> None:
    """Make one version of a pipeline the one whose results are current in a project, or
    (``version`` None) go back to the newest (managers)."""
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MANAGER)
        if version is None:
            repos.core.projects.unpin(project_id, slug)
            return
        if not repos.core.projects.has_pipeline(project_id, slug, version):
            raise InvalidInput(
                f"version: pipeline {slug!r} has no version {version} in project {project_id};"
                " list its versions with GET /api/v2/projects/{project_id}/pipelines"
            )
        repos.core.projects.pin(project_id, slug, version)


def pinned_pipelines(db: Database, caller: User, project_id: int) -> dict[str, int]:
    """The pipeline versions a project pinned, by slug."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.core.projects.pins(project_id)


def delete_project(db: Database, store: BlobStore, caller: User, project_id: int) -> None:
    """Delete a project and everything in it (owners): the rows, then the blobs.

    The blobs go once the rows are committed: a blob no row names is only garbage, a row
    whose blob is gone would be a broken image. Uploads into the project that are still
    running write their blobs first and delete them when their rows are refused (the
    project's key).
    """
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.OWNER)
        repos.core.projects.delete(project_id)
    for prefix in project_blob_prefixes(project_id):
        store.delete_prefix(prefix)


def list_members(db: Database, caller: User, project_id: int) -> list[Membership]:
    """Who belongs to a project."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.core.projects.members(project_id)


#: Why a manager may not make or unmake an owner.
OWNER_ONLY = "only owners can grant or take away the owner role"


def set_member(
    db: Database, caller: User, project_id: int, email: str, role: Role
) -> tuple[Membership, bool]:
    """Add a member by email or change their role (managers; only owners grant or take owner).

    Managers add people. A service account works for the projects it was made for; only an
    admin may add it to another (as a viewer, the role a worker needs), since its worker would
    take that project's tasks. Adding someone gives the adder no power over them: no access to
    their other projects, tokens or account.
    """
    require_person(caller)
    with db.write() as repos:
        _, caller_role = project_for(repos, caller, project_id, Role.MANAGER)
        # Before the lookup: refused for every email alike, it tells nothing of who exists.
        if role is Role.OWNER and not caller_role.allows(Role.OWNER):
            raise PermissionDenied(OWNER_ONLY)
        user = repos.core.users.by_email(email)
        if user is None or (user.is_service and not caller.is_admin):
            # Not a 400: the body is valid, what it names is not there (the document says so).
            raise NotFound(NO_SUCH_PERSON.format(email=email), code="no_such_person")
        if user.is_service and role is not Role.VIEWER:
            raise Conflict("a service account can only be a viewer: that is all a worker needs")
        current = repos.core.projects.role_of(project_id, user.id)
        # Taking the role away: the owners are members the caller can list anyway.
        if current is Role.OWNER and not caller_role.allows(Role.OWNER):
            raise PermissionDenied(OWNER_ONLY)
        if current == Role.OWNER and role != Role.OWNER:
            _keep_an_owner(repos.core.projects.count_owners(project_id))
        created = repos.core.projects.set_role(project_id, user.id, role)
        member = next(m for m in repos.core.projects.members(project_id) if m.user_id == user.id)
    return member, created


def remove_member(db: Database, caller: User, project_id: int, user_id: int) -> None:
    """Remove a member (managers; owners only by owners; never the last owner)."""
    with db.write() as repos:
        _, caller_role = project_for(repos, caller, project_id, Role.MANAGER)
        current = repos.core.projects.role_of(project_id, user_id)
        if current is None:
            raise NotFound(f"user {user_id} is not a member of project {project_id}")
        if current == Role.OWNER:
            if not caller_role.allows(Role.OWNER):
                raise PermissionDenied("only owners can remove an owner")
            _keep_an_owner(repos.core.projects.count_owners(project_id))
        repos.core.projects.remove_member(project_id, user_id)


def _keep_an_owner(owners: int) -> None:
    if owners <= 1:
        raise Conflict("a project must keep at least one owner; make someone else owner first")
