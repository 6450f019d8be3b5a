"""What the CLI commands do, given settings: migrate, serve, first-run set-up, admin tasks."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import make_url
from sqlalchemy.exc import OperationalError

from trapline.cli import tuning
from trapline.cli.banner import boxed
from trapline.cli.demo import run_demo_job
from trapline.db import migrate, presence
from trapline.db.engine import Database
from trapline.domain.core.records import Project, User
from trapline.errors import NotFound, TraplineError, Unavailable
from trapline.files import private_dir
from trapline.http.listening import listen_socket
from trapline.logs import configure_logging
from trapline.platform import Platform, open_database, open_store
from trapline.protocol.pipelines import PipelineRegistration
from trapline.services.core import accounts, users
from trapline.services.photos import bootstrap, findings, sizes
from trapline.services.pipelines.pipelines import register_pipelines
from trapline.settings import Settings

if TYPE_CHECKING:
    from trapline.http.server import Server
    from trapline.worker.embedded import EmbeddedWorker

log = logging.getLogger(__name__)


def run_migrate(settings: Settings) -> None:
    """Bring the schema up to date; Unavailable, in one line naming the database, when it does
    not answer."""
    db = open_database(settings)
    shown = make_url(db.engine.url).render_as_string(hide_password=True)
    try:
        before = migrate.current(db.engine)
        migrate.upgrade(db.engine)
        after = migrate.current(db.engine)
    except OperationalError as exc:
        reason = " ".join(
            line.strip() for line in str(exc.orig or exc).splitlines() if line.strip()
        )
        raise Unavailable(f"the database at {shown} did not answer: {reason}") from None
    finally:
        db.dispose()
    if before == after:
        log.info("database %s: schema %s", shown, after)
    else:
        log.info("database %s: schema %s, migrated from %s", shown, after, before or "empty")


def run_serve(settings: Settings) -> None:
    """Migrate, then serve the API until interrupted."""
    sock = listen_socket(settings.http.host, settings.http.port)
    configure_logging(settings.logs.level, settings.logs.format)
    run_migrate(settings)
    platform = Platform.from_settings(settings)
    try:
        _serve(platform, sock)
    finally:
        platform.close()


def run_up(settings: Settings, *, demo: bool) -> None:
    """Everything in one process, with an admin (and a demo project) made on first run."""
    # Bound first: a busy port fails before anything is made or printed.
    sock = listen_socket(settings.http.host, settings.http.port)
    configure_logging(settings.logs.level, settings.logs.format)
    private_dir(settings.server.data_dir)
    run_migrate(settings)
    platform = Platform.from_settings(settings)
    try:
        _up(platform, sock, demo=demo)
    finally:
        platform.close()


def _up(platform: Platform, sock: socket.socket, *, demo: bool) -> None:
    settings, db = platform.settings, platform.db
    admin = bootstrap.ensure_admin(db, settings.server.data_dir)
    demo_project = None
    if demo:
        demo_project, made = bootstrap.ensure_demo_project(db, platform.store, admin.user)
        state = "created" if made else "already there"
        log.info("demo project %s (%s images) %s", demo_project.id, demo_project.image_count, state)
    ready = _Ready(platform, admin, demo_project)
    _serve(platform, sock, started=ready.start, stopping=ready.stop)


class _Ready:
    """What ``trapline up`` does once it listens: start the embedded worker, run the demo
    job, then print the summary (last, in a box) a person needs to go on."""

    def __init__(
        self, platform: Platform, admin: bootstrap.Admin, demo_project: Project | None
    ) -> None:
        self.platform = platform
        self.settings = platform.settings
        self.db = platform.db
        self.admin = admin
        self.demo_project = demo_project
        self.worker: EmbeddedWorker | None = None
        #: Printed after the demo summary: where to look at the results in a browser.
        self.sign_in = ""

    def start(self, url: str) -> None:
        demo_lines: list[str] = []
        try:
            if self.settings.server.embedded_worker:
                token = self._start_worker(url)
                if self.demo_project is not None:
                    summary = run_demo_job(url, token, self.demo_project.id)
                    demo_lines = summary.lines(url, self.demo_project.id)
        except Exception:
            # The summary is printed all the same: on a first run it holds the only copy of
            # the admin token shown on screen.
            log.exception("the embedded worker or the demo job failed")
            demo_lines = ["the embedded worker or the demo job failed: see the log above"]
        print(boxed(self._summary(url, demo_lines)), file=sys.stderr, flush=True)

    def _start_worker(self, url: str) -> str:
        # The worker side is imported only when a worker runs in this process.
        from trapline.worker.embedded import EmbeddedWorker
        from trapline.worker.main import load_pipelines
        from trapline.worker.runner import RunnerOptions

        pipelines = load_pipelines(self.settings.worker)
        token = bootstrap.embedded_worker_token(self.db, self.admin.user)
        self.worker = EmbeddedWorker(
            url,
            token,
            pipelines,
            replace(RunnerOptions.from_settings(self.settings.worker), burst=False),
        )
        # Hooked before the first offer, which lists the projects: a project made meanwhile
        # (/readyz answers before the worker is set up) is in the listing or meets the hook.
        self.platform.project_created.append(self._register)
        self.worker.start()
        log.info("embedded worker serving %s", ", ".join(p.slug for p in pipelines))
        return token

    def _summary(self, url: str, demo_lines: list[str]) -> list[str]:
        admin = self.admin
        lines = [f"trapline is running at {url}", f"API docs: {url}/api/v2/docs"]
        if admin.new_token:
            lines.append(f"admin token: {admin.new_token}")
            lines.append(f"  (shown once; also saved in {admin.token_file})")
        else:
            lines.append(f"admin token: in {admin.token_file}")
        if self.demo_project is not None:
            project = self.demo_project
            lines.append(f"demo project {project.id}: {project.image_count} images")
        lines += demo_lines
        web = f"{url}/projects/{self.demo_project.id}" if self.demo_project else f"{url}/"
        lines.append(f"web app: {web}  (sign in as {admin.user.email})")
        if admin.new_password:
            lines.append(f"admin password: {admin.new_password}")
            lines.append(f"  (shown once; also saved in {admin.password_file})")
        else:
            lines.append(f"admin password: in {admin.password_file}")
        lines += [
            "next: the README's walk-through, in another terminal in this folder",
            "Ctrl-C stops trapline",
        ]
        return lines

    def _register(self, project_id: int) -> None:
        """Offer the built-in pipelines in a new project before its creation is answered."""
        if self.worker is None:
            return
        configs = [p.config for p in self.worker.pipelines]
        name = self.worker.service_name
        registration = PipelineRegistration(processing_service_name=name, pipelines=configs)
        register_pipelines(self.db, self.admin.user, project_id, registration)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop(timeout=10)


def _serve(
    platform: Platform,
    sock: socket.socket,
    *,
    started: Callable[[str], None] | None = None,
    stopping: Callable[[], None] | None = None,
) -> None:
    """Serve the API until a signal; ``started`` is called (in a thread) once it listens with
    its base URL, and ``stopping`` before it stops accepting requests."""
    # Imported here so the admin commands start without loading the web stack.
    from trapline.app import create_app
    from trapline.http.server import Server

    server = Server.for_app(
        create_app(platform),
        platform.settings.http,
        trusted_proxies=platform.settings.security.trusted_proxies,
        stopping=stopping,
    )
    tuning.apply(platform.settings.server)
    if started is not None:
        threading.Thread(target=_when_listening, args=(server, started), daemon=True).start()
    # uvicorn re-raises the SIGINT it shut down for, once it is done.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


def _when_listening(server: Server, started: Callable[[str], None]) -> None:
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.05)
    try:
        started(server.local_url())
    except Exception:
        log.exception("start-up work failed")


def admin_create_user(settings: Settings, *, email: str, name: str, is_admin: bool) -> User:
    """Create a user from the command line, in a database that exists."""
    with _existing_database(settings) as db:
        return users.create_user(db, None, email, name, is_admin=is_admin)


def admin_create_service_token(settings: Settings, *, projects: list[int], name: str) -> str:
    """Create a processing-service token from the command line and return its secret."""
    with _existing_database(settings) as db:
        return users.create_service_token(db, None, projects, name)[1].secret


def admin_create_token(settings: Settings, *, email: str, name: str) -> str:
    """Create a token from the command line and return its secret."""
    with _existing_database(settings) as db:
        return users.create_token_for_email(db, email, name).secret


def admin_reread_sizes(
    settings: Settings,
    *,
    project_id: int | None,
    after_id: int,
    progress: Callable[[sizes.SizesReread], None],
) -> sizes.SizesReread:
    """Record the upright size of every stored photo (``services/photos/sizes.py``)."""
    with _existing_database(settings) as db:
        secret = settings.security.resolved_secret_key(settings.server.data_dir)
        store = open_store(settings.storage, settings.server.data_dir, secret)
        return sizes.reread_sizes(
            db, store, project_id=project_id, after_id=after_id, progress=progress
        )


def admin_rebuild_findings(
    settings: Settings, *, project_id: int | None, progress: Callable[[findings.Rebuilt], None]
) -> list[int]:
    """Work out again what photos' current results found (``services/photos/findings.py``)."""
    with _existing_database(settings) as db:
        return findings.rebuild_findings(db, project_id=project_id, progress=progress)


def database_name(settings: Settings) -> str:
    """The database the settings point to, as a person may read it (no password)."""
    return presence.readable_url(settings.db.resolved_url(settings.server.data_dir))


@contextlib.contextmanager
def _existing_database(settings: Settings) -> Iterator[Database]:
    """The database of the settings, brought up to date, if it holds trapline already.

    An admin command run from the wrong folder would otherwise make an empty database next to
    it and then report that the user or project it names does not exist. Only ``migrate``,
    ``up`` and ``serve`` create databases; every error here names the database looked at.
    """
    where = database_name(settings)
    how = (
        "run the command in the folder you start trapline from, or give the same --data-dir "
        "or --database-url (TRAPLINE_DATA_DIR, TRAPLINE_DATABASE_URL) that trapline uses; "
        "to start a new database, run: trapline migrate"
    )
    file = presence.sqlite_file(settings.db.resolved_url(settings.server.data_dir))
    if file is not None and not file.exists():
        raise NotFound(f"no trapline database at {where}; {how}", code="no_database")
    db = open_database(settings)
    try:
        if not presence.holds_trapline(db.engine):
            raise NotFound(
                f"the database {where} holds no trapline data; {how}", code="no_database"
            )
        migrate.upgrade(db.engine)
        try:
            yield db
        except TraplineError as exc:
            raise type(exc)(f"{exc.detail} (in the database {where})", code=exc.code) from exc
    finally:
        db.dispose()


def admin_set_password(settings: Settings, *, email: str, password: str | None) -> tuple[User, str]:
    """Set a person's web password (random when none is given); returns it."""
    with _existing_database(settings) as db:
        return accounts.set_password_for_email(db, email, password)
