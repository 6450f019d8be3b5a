"""Users: admins create, list, deactivate them and give them tokens; the caller's own account."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from trapline.api.deps import CurrentUser, CurrentWorker, DatabaseDep
from trapline.http.pagination import offset_page
from trapline.http.params import DEFAULT_LIMIT, Id, Limit, Offset
from trapline.schemas.accounts import NewTokenOut, PasswordOut, TokenIn, TokenOut, UserIn, UserOut
from trapline.services.core import accounts, users

router = APIRouter(tags=["users"])


@router.post("/users", status_code=201)
def create_user(body: UserIn, caller: CurrentUser, db: DatabaseDep) -> UserOut:
    """Create a user (admins only)."""
    return UserOut.of(users.create_user(db, caller, body.email, body.name, is_admin=body.is_admin))


@router.get("/users/me")
def me(caller: CurrentWorker) -> UserOut:
    """The calling user."""
    return UserOut.of(caller)


@router.get("/users")
def list_users(
    request: Request,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Every account, by id (admins only)."""
    total, found = accounts.list_users(db, caller, limit=limit, offset=offset)
    return offset_page(request, total, [UserOut.of(u) for u in found], limit, offset)


@router.get("/users/{user_id}")
def get_user(user_id: Id, caller: CurrentUser, db: DatabaseDep) -> UserOut:
    """One account (admins only)."""
    return UserOut.of(accounts.get_user(db, caller, user_id))


@router.post("/users/{user_id}/deactivate")
def deactivate_user(user_id: Id, caller: CurrentUser, db: DatabaseDep) -> UserOut:
    """Keep an account out (admins only): its tokens and web sessions stop working at once."""
    return UserOut.of(accounts.set_active(db, caller, user_id, False))


@router.post("/users/{user_id}/activate")
def activate_user(user_id: Id, caller: CurrentUser, db: DatabaseDep) -> UserOut:
    """Let a deactivated account in again (admins only); revoked tokens stay revoked."""
    return UserOut.of(accounts.set_active(db, caller, user_id, True))


@router.post("/users/{user_id}/tokens", status_code=201)
def create_token_for_user(
    user_id: Id, body: TokenIn, caller: CurrentUser, db: DatabaseDep
) -> NewTokenOut:
    """Create an API token for a user (admins only); its secret is shown only in this answer."""
    made = accounts.token_for_user(db, caller, user_id, body.name)
    return NewTokenOut(**TokenOut.of(made.token).model_dump(), token=made.secret)


@router.post("/users/{user_id}/password", status_code=201)
def reset_password(user_id: Id, caller: CurrentUser, db: DatabaseDep) -> PasswordOut:
    """Give a user a new random password for the web app (admins only); shown only here."""
    return PasswordOut(password=accounts.reset_password(db, caller, user_id))
