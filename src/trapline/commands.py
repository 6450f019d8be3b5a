"""What the CLI commands do, given settings: migrate, serve, first-run set-up, admin tasks."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from trapline import tuning
from trapline.db import migrate
from trapline.db.engine import Database
from trapline.demo import run_demo_job
from trapline.domain.records import User
from trapline.files import private_dir
from trapline.logs import configure_logging
from trapline.platform import Platform, open_database
from trapline.services import accounts, bootstrap, users
from trapline.settings import Settings

if TYPE_CHECKING:
    from trapline.api.server import Server
    from trapline.worker.embedded import EmbeddedWorker

log = logging.getLogger(__name__)


def run_migrate(settings: Settings) -> None:
    """Bring the schema up to date."""
    db = open_database(settings)
    try:
        migrate.upgrade(db.engine)
    finally:
        db.dispose()


def run_serve(settings: Settings) -> None:
    """Migrate, then serve the API until interrupted."""
    configure_logging(settings.log_level, settings.log_format)
    run_migrate(settings)
    platform = Platform.from_settings(settings)
    try:
        _serve(platform)
    finally:
        platform.close()


def run_up(settings: Settings, *, demo: bool) -> None:
    """Everything in one process, with an admin (and a demo project) made on first run."""
    configure_logging(settings.log_level, settings.log_format)
    private_dir(settings.data_dir)
    run_migrate(settings)
    platform = Platform.from_settings(settings)
    try:
        _up(platform, demo=demo)
    finally:
        platform.close()


def _up(platform: Platform, *, demo: bool) -> None:
    settings, db = platform.settings, platform.db
    admin = bootstrap.ensure_admin(db, settings.data_dir)
    url = f"http://{settings.host}:{settings.port}"
    lines = [f"trapline {url}  (API docs: {url}/api/v2/docs)"]
    if admin.new_token:
        lines.append(f"admin token (also in {admin.token_file}): {admin.new_token}")
    else:
        lines.append(f"admin token: see {admin.token_file}")
    lines.append(f"web app: {url}/  sign in as {admin.user.email}")
    if admin.new_password:
        lines.append(f"admin password (also in {admin.password_file}): {admin.new_password}")
    else:
        lines.append(f"admin password: see {admin.password_file}")
    if demo:
        project, made = bootstrap.ensure_demo_project(db, platform.store, admin.user)
        state = "created" if made else "already there"
        lines += [
            f"demo project {project.id} ({project.image_count} images) {state}. Try:",
            f"  export TOKEN=$(cat {admin.token_file})",
            f'  curl -H "Authorization: Token $TOKEN" {url}/api/v2/projects/{project.id}/images/',
        ]
    print("\n".join(lines), file=sys.stderr, flush=True)
    if not settings.embedded_worker:
        _serve(platform)
        return
    embedded = _Embedded(settings, db, admin.user, demo_project=project.id if demo else None)
    if demo:
        embedded.sign_in = (
            f"  web app: {url}/projects/{project.id}  (sign in as {admin.user.email}; "
            f"password in {admin.password_file})"
        )
    _serve(platform, started=embedded.start, stopping=embedded.stop)


class _Embedded:
    """The embedded worker of ``trapline up`` and, with ``--demo``, the demo job."""

    def __init__(
        self, settings: Settings, db: Database, admin: User, *, demo_project: int | None
    ) -> None:
        self.settings = settings
        self.db = db
        self.admin = admin
        self.demo_project = demo_project
        self.worker: EmbeddedWorker | None = None
        #: Printed after the demo summary: where to look at the results in a browser.
        self.sign_in = ""

    def start(self, url: str) -> None:
        # The worker side is imported only when a worker runs in this process.
        from trapline.worker.embedded import EmbeddedWorker
        from trapline.worker.main import load_pipelines
        from trapline.worker.runner import RunnerOptions

        pipelines = load_pipelines(self.settings)
        token = bootstrap.embedded_worker_token(self.db, self.admin)
        self.worker = EmbeddedWorker(
            url, token, pipelines, replace(RunnerOptions.from_settings(self.settings), burst=False)
        )
        self.worker.start()
        log.info("embedded worker serving %s", ", ".join(p.slug for p in pipelines))
        if self.demo_project is not None:
            summary = run_demo_job(url, token, self.demo_project)
            lines = [*summary.lines(url, self.demo_project), self.sign_in]
            print("\n".join(lines), file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop(timeout=10)


def _serve(
    platform: Platform,
    *,
    started: Callable[[str], None] | None = None,
    stopping: Callable[[], None] | None = None,
) -> None:
    """Serve the API until a signal; ``started`` is called (in a thread) once it listens with
    its base URL, and ``stopping`` before it stops accepting requests."""
    # Imported here so the admin commands start without loading the web stack.
    from trapline.api.app import create_app
    from trapline.api.server import Server

    server = Server.for_app(create_app(platform), platform.settings, stopping=stopping)
    tuning.apply(platform.settings)
    if started is not None:
        threading.Thread(target=_when_listening, args=(server, started), daemon=True).start()
    # uvicorn re-raises the SIGINT it shut down for, once it is done.
    with contextlib.suppress(KeyboardInterrupt):
        server.run()


def _when_listening(server: Server, started: Callable[[str], None]) -> None:
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    try:
        started(server.local_url())
    except Exception:
        log.exception("the embedded worker could not start")


def admin_create_user(settings: Settings, *, email: str, name: str, is_admin: bool) -> User:
    """Create a user from the command line."""
    db = _migrated_database(settings)
    try:
        return users.create_user(db, None, email, name, is_admin=is_admin)
    finally:
        db.dispose()


def admin_create_service_token(settings: Settings, *, projects: list[int], name: str) -> str:
    """Create a processing-service token from the command line and return its secret."""
    db = _migrated_database(settings)
    try:
        return users.create_service_token(db, None, projects, name)[1].secret
    finally:
        db.dispose()


def admin_create_token(settings: Settings, *, email: str, name: str) -> str:
    """Create a token from the command line and return its secret."""
    db = _migrated_database(settings)
    try:
        return users.create_token_for_email(db, email, name).secret
    finally:
        db.dispose()


def admin_set_password(settings: Settings, *, email: str, password: str | None) -> tuple[User, str]:
    """Set a person's web password (random when none is given); returns it."""
    db = _migrated_database(settings)
    try:
        return accounts.set_password_for_email(db, email, password)
    finally:
        db.dispose()


def _migrated_database(settings: Settings) -> Database:
    # The admin commands need the database only: no queue, store or duties.
    run_migrate(settings)
    return open_database(settings)
