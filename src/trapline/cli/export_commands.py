"""What ``trapline export`` and ``trapline import-megadetector`` do, given settings.

Both act on the database the settings point to, as an account of it (``--as``; by default
the admin ``trapline up`` creates), with that account's access like any API call.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from trapline.cli.platform_commands import run_migrate
from trapline.domain.core.records import User
from trapline.domain.exports.exports import Export, ExportFilters, ExportFormat, ExportStatus
from trapline.errors import InvalidInput, NotFound, TraplineError
from trapline.platform import Platform
from trapline.services.core.users import active_user
from trapline.services.exports import exports, imports
from trapline.services.exports.imports import ImportReport
from trapline.services.photos.bootstrap import LOCAL_ADMIN_EMAIL
from trapline.settings import Settings

#: Seconds between looks at a running export's progress.
POLL_SECONDS = 0.5


def run_export(
    settings: Settings,
    *,
    project_id: int,
    fmt: ExportFormat,
    filters: ExportFilters,
    output: Path,
    as_email: str | None,
    progress: Callable[[Export], None],
) -> Export:
    """Export a project here and now, saying how far it got, then save the file."""
    run_migrate(settings)
    platform = Platform.from_settings(settings)
    try:
        caller = _caller(platform, as_email)
        export = exports.create_export(
            platform.db, platform.exports, caller, project_id, fmt, filters
        )
        while not export.status.final:
            time.sleep(POLL_SECONDS)
            export = exports.get_export(platform.db, caller, export.id)
            progress(export)
        if export.status is not ExportStatus.SUCCEEDED or export.blob_key is None:
            raise TraplineError(f"export {export.id} {export.status.value}: {export.error or ''}")
        with platform.store.opened(export.blob_key) as source, output.open("wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)
        return export
    finally:
        platform.close()


def run_import_megadetector(
    settings: Settings,
    *,
    project_id: int,
    path: Path,
    deployment_id: int | None,
    threshold: float | None,
    as_email: str | None,
) -> ImportReport:
    """Import a MegaDetector batch output file into a project."""
    run_migrate(settings)
    platform = Platform.from_settings(settings)
    try:
        caller = _caller(platform, as_email)
        try:
            source = path.open("rb")
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror}") from exc
        with source:
            return imports.import_megadetector(
                platform.db,
                caller,
                project_id,
                source,
                deployment_id=deployment_id,
                threshold=threshold,
            )
    finally:
        platform.close()


def _caller(platform: Platform, email: str | None) -> User:
    user = active_user(platform.db, email or LOCAL_ADMIN_EMAIL)
    if user is None:
        raise NotFound(
            f"no account {email or LOCAL_ADMIN_EMAIL}; name the account to act as with --as"
        )
    return user
