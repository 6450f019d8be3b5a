"""The caller's own API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Response

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.http.params import Id
from trapline.schemas.accounts import NewTokenOut, TokenIn, TokenOut
from trapline.services.core import users

router = APIRouter(tags=["tokens"])


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, caller: CurrentUser, db: DatabaseDep) -> NewTokenOut:
    """Create a token for yourself; its secret is shown only in this answer."""
    made = users.create_token(db, caller, body.name)
    return NewTokenOut(**TokenOut.of(made.token).model_dump(), token=made.secret)


@router.get("/tokens")
def list_tokens(caller: CurrentUser, db: DatabaseDep) -> dict[str, object]:
    """Your tokens (secrets are never shown again)."""
    tokens = [TokenOut.of(t) for t in users.list_tokens(db, caller)]
    return {"count": len(tokens), "next": None, "previous": None, "results": tokens}


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: Id, caller: CurrentUser, db: DatabaseDep) -> Response:
    """Revoke one of your tokens."""
    users.revoke_token(db, caller, token_id)
    return Response(status_code=204)
