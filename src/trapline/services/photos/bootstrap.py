"""First-run conveniences of ``trapline up``: an admin with a token, and a demo project."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from trapline.db.engine import Database
from trapline.domain.core.event_rules import ProjectKind
from trapline.domain.core.records import Project, User
from trapline.files import private_dir
from trapline.imaging.synthetic import light_trap_jpeg
from trapline.services.core.accounts import set_password
from trapline.services.core.passwords import new_password
from trapline.services.core.users import create_token, create_user, list_tokens, revoke_token
from trapline.services.photos.deployments import create_deployment
from trapline.services.photos.images import IncomingFile, upload_images
from trapline.services.photos.projects import create_project, list_projects
from trapline.storage.base import BlobStore

#: Email of the admin ``trapline up`` creates on first run.
LOCAL_ADMIN_EMAIL = "admin@localhost"
#: File in the data dir that holds the first admin's token (mode 0600).
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 - a file name
#: File beside it that holds the first admin's web sign-in password (mode 0600).
ADMIN_PASSWORD_FILE = "admin-password"  # noqa: S105 - a file name
#: Name of the token the embedded worker of ``trapline up`` uses; replaced at every start.
EMBEDDED_WORKER_TOKEN = "embedded worker"  # noqa: S105 - a token's name
#: Name of the demo project ``trapline up --demo`` creates.
DEMO_PROJECT_NAME = "Demo: moth light trap"
#: Images in the demo project: one night of a trap, every 20 minutes.
DEMO_IMAGES = 12


@dataclass(frozen=True)
class Admin:
    """The local admin and, on the first run only, their new token."""

    user: User
    new_token: str | None
    token_file: Path
    #: The web sign-in password, when it was made on this run (else it is in the file).
    new_password: str | None = None
    password_file: Path | None = None


def ensure_admin(db: Database, data_dir: Path) -> Admin:
    """Create the local admin, a token and a password on first run; later runs find them.

    An admin made by an older version, before the web app had passwords, gets one now.
    """
    token_file = data_dir / ADMIN_TOKEN_FILE
    password_file = data_dir / ADMIN_PASSWORD_FILE
    with db.read() as repos:
        found = repos.core.users.password_hash(LOCAL_ADMIN_EMAIL)
    new_token = None
    if found is None:
        user = create_user(db, None, LOCAL_ADMIN_EMAIL, "Local admin", is_admin=True)
        new_token = create_token(db, user, "trapline up").secret
        _write_private(data_dir, token_file, new_token)
        stored = None
    else:
        user, stored = found
    if stored is not None:
        return Admin(user, new_token, token_file, None, password_file)
    password = new_password()
    set_password(db, None, user.id, password)
    _write_private(data_dir, password_file, password)
    return Admin(user, new_token, token_file, password, password_file)


def _write_private(data_dir: Path, path: Path, secret: str) -> None:
    private_dir(data_dir)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")


def embedded_worker_token(db: Database, admin: User) -> str:
    """A fresh token for the embedded worker; the one of the previous run is revoked."""
    for token in list_tokens(db, admin):
        if token.name == EMBEDDED_WORKER_TOKEN and token.revoked_at is None:
            revoke_token(db, admin, token.id)
    return create_token(db, admin, EMBEDDED_WORKER_TOKEN).secret


def ensure_demo_project(db: Database, store: BlobStore, admin: User) -> tuple[Project, bool]:
    """The demo project with generated light-trap images; True when made just now."""
    _, projects = list_projects(db, admin, limit=1000, offset=0)
    for project, _ in projects:
        if project.name == DEMO_PROJECT_NAME:
            return project, False
    project = create_project(
        db,
        admin,
        DEMO_PROJECT_NAME,
        "Generated photos of a lit sheet with moths on it.",
        kind=ProjectKind.LIGHT_TRAP,
    )
    deployment = create_deployment(
        db,
        admin,
        project.id,
        name="Demo trap 1",
        description="A generated light trap",
        latitude=45.5017,
        longitude=-73.5673,
        started_at=datetime(2024, 6, 21, 21, 0),
        ended_at=datetime(2024, 6, 22, 5, 0),
    )
    night = datetime(2024, 6, 21, 22, 0)
    files = []
    for n in range(DEMO_IMAGES):
        when = night + timedelta(minutes=20 * n)
        data = light_trap_jpeg(seed=n, captured_at=when)
        files.append(IncomingFile(f"demo-{when:%Y%m%d%H%M%S}.jpg", io.BytesIO(data)))
    upload_images(
        db,
        store,
        admin,
        project.id,
        files,
        deployment_id=deployment.id,
        max_file_bytes=100 * 1024 * 1024,
        source="import",
    )
    with db.read() as repos:
        refreshed = repos.core.projects.get(project.id)
    assert refreshed is not None
    return refreshed, True
