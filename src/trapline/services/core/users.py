"""Users and API tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from trapline.db.engine import Database
from trapline.domain.core.records import ApiToken, User
from trapline.domain.core.roles import Role
from trapline.domain.core.tokens import hash_token, new_token, visible_prefix
from trapline.errors import InvalidInput, NotFound, PermissionDenied
from trapline.services.core.access import project_for, require_person


@dataclass(frozen=True)
class NewToken:
    """A token just made: the only moment its secret is known."""

    token: ApiToken
    secret: str


def create_user(
    db: Database, caller: User | None, email: str, name: str, *, is_admin: bool
) -> User:
    """Add a user; only admins may (``caller`` None means the local command line)."""
    if caller is not None and not require_person(caller).is_admin:
        raise PermissionDenied("only admins can create users")
    with db.write() as repos:
        return repos.core.users.create(email, name, is_admin=is_admin)


def create_token(db: Database, user: User, name: str) -> NewToken:
    """Make a token for ``user``, a person; its secret is returned once and stored only hashed.

    A service account gets its tokens from its project's managers (``create_service_token``);
    it cannot make more itself.
    """
    return make_token(db, require_person(user), name)


def make_token(db: Database, user: User, name: str) -> NewToken:
    """A token for ``user`` (whoever calls has checked they may); its secret is returned once."""
    secret = new_token()
    with db.write() as repos:
        token = repos.core.users.add_token(
            user.id, name, visible_prefix(secret), hash_token(secret)
        )
    return NewToken(token=token, secret=secret)


def active_user(db: Database, email: str) -> User | None:
    """The active account with this email, if there is one (the command line acts as it)."""
    with db.read() as repos:
        user = repos.core.users.by_email(email)
    return user if user is not None and user.is_active else None


def create_token_for_email(db: Database, email: str, name: str) -> NewToken:
    """Make a token for the user with this email (the admin command line)."""
    with db.read() as repos:
        user = repos.core.users.by_email(email)
    if user is None:
        raise NotFound(f"no user with email {email}; create one with `trapline admin create-user`")
    return make_token(db, user, name)


def create_service_token(
    db: Database, caller: User | None, project_ids: list[int], name: str
) -> tuple[User, NewToken]:
    """A service account for a processing service, member of these projects, with a token.

    A manager of every project may do it (``caller`` None means the admin command line). The
    account is a viewer of those projects only, the least a worker needs.
    """
    if caller is not None:
        require_person(caller)
    if not project_ids:
        raise InvalidInput("name at least one project")
    with db.write() as repos:
        for project_id in project_ids:
            if caller is not None:
                project_for(repos, caller, project_id, Role.MANAGER)
            elif repos.core.projects.get(project_id) is None:
                raise NotFound(f"project {project_id} not found")
        email = f"service-{secrets.token_hex(6)}@services.trapline.invalid"
        account = repos.core.users.create(email, name, is_service=True)
        for project_id in project_ids:
            repos.core.projects.set_role(project_id, account.id, Role.VIEWER)
    return account, make_token(db, account, name)


def list_tokens(db: Database, user: User) -> list[ApiToken]:
    """The user's own tokens."""
    with db.read() as repos:
        return repos.core.users.tokens_of(user.id)


def revoke_token(db: Database, user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens."""
    with db.write() as repos:
        if not repos.core.users.revoke_token(user.id, token_id):
            raise NotFound(f"token {token_id} not found")
