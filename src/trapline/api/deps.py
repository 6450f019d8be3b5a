"""FastAPI dependencies, as named aliases routes declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from trapline.db.engine import Database
from trapline.domain.records import User
from trapline.errors import NotAuthenticated
from trapline.services.users import authenticate
from trapline.settings import Settings
from trapline.storage.base import BlobStore

#: Schemes accepted in the Authorization header (AMI clients send ``Token`` or ``Api-Key``).
AUTH_SCHEMES = ("token", "bearer", "api-key")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.store
    return store


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]
StoreDep = Annotated[BlobStore, Depends(_store)]


def _current_user(request: Request, db: DatabaseDep) -> User:
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() not in AUTH_SCHEMES or not secret.strip():
        raise NotAuthenticated(
            "authentication required: send the header 'Authorization: Token <your API token>'"
        )
    return authenticate(db, secret.strip())


CurrentUser = Annotated[User, Depends(_current_user)]


def public_base_url(request: Request, settings: Settings) -> str:
    """The server's base URL as clients reach it, without a trailing slash."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


def absolute_url(request: Request, settings: Settings, url: str) -> str:
    """Make a server-relative URL (the local blob store's) absolute."""
    return public_base_url(request, settings) + url if url.startswith("/") else url
