"""What the CLI commands do, given settings: migrate, serve, first-run set-up, admin tasks."""

from __future__ import annotations

import logging
import sys

from trapline.db import migrate
from trapline.db.engine import Database
from trapline.domain.records import User
from trapline.logs import configure_logging
from trapline.services import bootstrap, users
from trapline.settings import Settings
from trapline.storage import open_blob_store

log = logging.getLogger(__name__)


def open_database(settings: Settings) -> Database:
    """The database the settings point to."""
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database.from_url(
        settings.resolved_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        sqlite_busy_timeout=settings.sqlite_busy_timeout,
    )


def run_migrate(settings: Settings) -> Database:
    """Bring the schema up to date and return the open database."""
    db = open_database(settings)
    migrate.upgrade(db.engine)
    return db


def run_serve(settings: Settings) -> None:
    """Migrate, then serve the API until interrupted."""
    configure_logging(settings.log_level, settings.log_format)
    db = run_migrate(settings)
    _serve(settings, db)


def run_up(settings: Settings, *, demo: bool) -> None:
    """Everything in one process, with an admin (and a demo project) made on first run."""
    configure_logging(settings.log_level, settings.log_format)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = run_migrate(settings)
    admin = bootstrap.ensure_admin(db, settings.data_dir)
    url = f"http://{settings.host}:{settings.port}"
    lines = [f"trapline {url}  (API docs: {url}/api/v2/docs)"]
    if admin.new_token:
        lines.append(f"admin token (also in {admin.token_file}): {admin.new_token}")
    else:
        lines.append(f"admin token: see {admin.token_file}")
    if demo:
        store = open_blob_store(
            settings.resolved_storage_url,
            secret_key=settings.resolved_secret_key(),
            s3_endpoint_url=settings.s3_endpoint_url,
            s3_region=settings.s3_region,
        )
        project, made = bootstrap.ensure_demo_project(db, store, admin.user)
        state = "created" if made else "already there"
        lines += [
            f"demo project {project.id} ({project.image_count} images) {state}. Try:",
            f"  export TOKEN=$(cat {admin.token_file})",
            f'  curl -H "Authorization: Token $TOKEN" {url}/api/v2/projects/{project.id}/images/',
        ]
    print("\n".join(lines), file=sys.stderr, flush=True)
    _serve(settings, db)


def _serve(settings: Settings, db: Database) -> None:
    # Imported here so the admin commands start without loading the web stack.
    import uvicorn

    from trapline.api.app import create_app

    app = create_app(settings, db=db)
    try:
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=10,
        )
    finally:
        db.dispose()


def admin_create_user(settings: Settings, *, email: str, name: str, is_admin: bool) -> User:
    """Create a user from the command line."""
    db = run_migrate(settings)
    try:
        return users.create_user(db, None, email, name, is_admin=is_admin)
    finally:
        db.dispose()


def admin_create_service_token(settings: Settings, *, projects: list[int], name: str) -> str:
    """Create a processing-service token from the command line and return its secret."""
    db = run_migrate(settings)
    try:
        return users.create_service_token(db, None, projects, name)[1].secret
    finally:
        db.dispose()


def admin_create_token(settings: Settings, *, email: str, name: str) -> str:
    """Create a token from the command line and return its secret."""
    db = run_migrate(settings)
    try:
        return users.create_token_for_email(db, email, name).secret
    finally:
        db.dispose()
