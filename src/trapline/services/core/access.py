"""Who may see and do what in a project. Non-members learn nothing: they get 404."""

from __future__ import annotations

from typing import Any, Generic, NamedTuple, TypeVar

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.types import utcnow
from trapline.domain.core.records import Project, User
from trapline.domain.core.roles import Role
from trapline.domain.core.tokens import hash_token
from trapline.errors import NotAuthenticated, NotFound, PermissionDenied

T = TypeVar("T")


def project_for(
    repos: Repos,
    caller: User,
    project_id: int,
    needed: Role,
    *,
    asked: tuple[str, int] | None = None,
) -> tuple[Project, Role]:
    """The project and the caller's role in it, if the caller has at least ``needed``.

    Admins act as owners everywhere. A caller who is not a member gets NotFound, exactly as
    for a project that does not exist; a member whose role is too low gets PermissionDenied.
    ``asked``: the (kind, id) of the project's object the caller asked for, such as a job;
    an outsider is then told that object was not found, in the words ``require`` uses for
    one that does not exist (naming the project would tell them it exists, and where).
    """
    project = repos.core.projects.get(project_id)
    role = (
        Role.OWNER
        if caller.is_admin
        else (repos.core.projects.role_of(project_id, caller.id) if project else None)
    )
    if project is None or role is None:
        raise _not_found(*(asked or ("project", project_id)))
    if not role.allows(needed):
        raise PermissionDenied(
            f"this needs the {needed.value} role in project {project_id}; you are {role.value}"
        )
    return project, role


#: What a service account is refused everywhere outside the worker protocol.
SERVICE_ACCOUNT_LIMIT = (
    "this token belongs to a processing service account, which may only work as a worker in "
    "its projects (list jobs, claim tasks, post results, register pipelines); use a person's "
    "token for anything else"
)


def require_person(caller: User) -> User:
    """``caller``, unless it is a service account (PermissionDenied): they only work as
    workers, so a leaked worker token can read and change nothing but the work it was given."""
    if caller.is_service:
        raise PermissionDenied(SERVICE_ACCOUNT_LIMIT)
    return caller


def worker_project(
    repos: Repos, caller: User, project_id: int, *, asked: tuple[str, int] | None = None
) -> Project:
    """A project the caller may work in as a processing service (pull tasks, post results).

    Service accounts need only their membership; people need the member role. ``asked`` as
    for ``project_for``.
    """
    needed = Role.VIEWER if caller.is_service else Role.MEMBER
    project, _ = project_for(repos, caller, project_id, needed, asked=asked)
    return project


def require(found: T | None, kind: str, object_id: int) -> T:
    """``found``, or NotFound in the same words as for an object the caller may not see."""
    if found is None:
        raise _not_found(kind, object_id)
    return found


def _not_found(kind: str, object_id: int) -> NotFound:
    return NotFound(f"{kind} {object_id} not found")


def authenticate(db: Database, secret: str) -> User:
    """The user a token belongs to; NotAuthenticated for unknown or revoked tokens."""
    hashed = hash_token(secret)
    with db.read() as repos:
        found = repos.core.users.authenticate(hashed)
    if found is None:
        raise NotAuthenticated(
            "invalid or revoked token; create a new one with POST /api/v2/tokens/"
        )
    user, token = found
    now = utcnow()
    if repos.core.users.needs_touch(token, now):
        with db.write() as repos:
            repos.core.users.touch_token(token.id, now)
    return user


class Kept(NamedTuple, Generic[T]):
    """A remembered answer: valid until ``until`` while access stays at ``version``."""

    value: T
    until: float
    version: int


class AccessMemo:
    """Who a token belongs to (and, ``WorkerAccess``, which running jobs a worker may serve),
    remembered briefly.

    A worker calls several times a second with the same token about the same job; reading
    the token, the job, the project and the membership for every call was a third of a
    claim's work. Each answer is kept ``ttl`` seconds. A change of access committed through
    this process (a token revoked, a member added, removed or given another role, a project
    changed or deleted, a job canceled or deleted: the repositories mark each,
    ``access_changed``) voids every answer at once, whichever code path made it; made through
    another replica, it applies within ``ttl`` seconds. Ids are never reused (migration
    0011), so a remembered job id never names another job. Only running jobs are kept: a job
    that ended meanwhile hands out nothing (its tasks are no longer queued) and results are
    judged against the tasks table. Unknown tokens are never remembered.
    """

    #: Answers remembered at most; beyond that the memory starts again.
    MAX_REMEMBERED = 10_000

    def __init__(self, db: Database, ttl: float, clock: Clock | None = None) -> None:
        self.db = db
        self.ttl = ttl
        self.clock = clock or SystemClock()
        self._users: dict[str, Kept[User]] = {}

    def remembered_user(self, secret: str) -> User | None:
        """The token's user if it was authenticated less than ``ttl`` seconds ago."""
        return self.recall(self._users, hash_token(secret))

    def user(self, secret: str) -> User:
        """The user a token belongs to; NotAuthenticated for unknown or revoked tokens."""
        found = self.remembered_user(secret)
        if found is not None:
            return found
        version = self.db.access_version  # before reading: a change meanwhile voids the answer
        user = authenticate(self.db, secret)
        self.keep(self._users, hash_token(secret), user, version)
        return user

    def recall(self, memory: dict[Any, Kept[T]], key: Any) -> T | None:
        hit = memory.get(key)
        if (
            hit is None
            or hit.version != self.db.access_version
            or hit.until <= self.clock.monotonic()
        ):
            return None
        return hit.value

    def keep(self, memory: dict[Any, Kept[T]], key: Any, value: T, version: int) -> None:
        if self.ttl <= 0:
            return
        if len(memory) >= self.MAX_REMEMBERED:
            memory.clear()
        memory[key] = Kept(value, self.clock.monotonic() + self.ttl, version)
