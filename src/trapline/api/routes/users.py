"""Users (admins create them) and the caller's own account."""

from __future__ import annotations

from fastapi import APIRouter

from trapline.api.deps import CurrentUser, CurrentWorker, DatabaseDep
from trapline.api.schemas import UserIn, UserOut
from trapline.services import users

router = APIRouter(tags=["users"])


@router.post("/users", status_code=201)
def create_user(body: UserIn, caller: CurrentUser, db: DatabaseDep) -> UserOut:
    """Create a user (admins only)."""
    return UserOut.of(users.create_user(db, caller, body.email, body.name, is_admin=body.is_admin))


@router.get("/users/me")
def me(caller: CurrentWorker) -> UserOut:
    """The calling user."""
    return UserOut.of(caller)
