"""Exports of a project's images and results: create, list, get, download, cancel, delete.

Any member, viewers included, may export; the export's creator or a manager may cancel or
delete it. The file is written in the background (``background/exports.py``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.types import utcnow
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.exports.camera_operation import Day1, HistoryOutput, Occasions
from trapline.domain.exports.exports import Export, ExportFilters, ExportFormat, ExportStatus
from trapline.errors import Conflict, InvalidInput, PermissionDenied
from trapline.services.core.access import project_for, require
from trapline.services.ecology.counting import check_pipeline
from trapline.services.taxa.taxa import taxon_of_project
from trapline.storage.base import BlobStore


class Submits(Protocol):
    """What runs an export once it is made (``background.exports.ExportRunner``)."""

    def submit(self, export_id: int) -> None: ...


def create_export(
    db: Database,
    runner: Submits,
    caller: User,
    project_id: int,
    fmt: ExportFormat,
    filters: ExportFilters,
) -> Export:
    """Queue an export of the project (viewers too); it runs in the background."""
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        if fmt.tabled:
            check_table_filters(repos, project_id, fmt, filters)
        else:
            check_filters(repos, project_id, filters)
            check_not_table_filters(filters)
        made = repos.exports.exports.create(project_id, fmt, filters, caller.id)
    runner.submit(made.id)
    return made


def check_filters(repos: Repos, project_id: int, f: ExportFilters) -> None:
    """InvalidInput naming the first filter that does not fit the project."""
    owned = (
        ("deployment", "deployment_id", f.deployment_id, repos.core.deployments.get),
        ("collection", "collection_id", f.collection_id, repos.core.collections.get),
        ("job", "job_id", f.job_id, repos.processing.jobs.get),
    )
    for kind, field, wanted, get in owned:
        if wanted is not None:
            found = get(wanted)
            if found is None or found.project_id != project_id:
                raise InvalidInput(f"{kind} {wanted} is not in project {project_id}", field=field)
    _check_pipeline(repos, project_id, f)
    if f.min_confidence is not None and not 0.0 <= f.min_confidence <= 1.0:
        raise InvalidInput(
            f"min_confidence must be from 0 to 1 (got {f.min_confidence})", field="min_confidence"
        )
    if f.date_from is not None and f.date_to is not None and f.date_from > f.date_to:
        raise InvalidInput(
            f"date_from ({f.date_from}) is after date_to ({f.date_to})", field="date_to"
        )


def _check_pipeline(repos: Repos, project_id: int, f: ExportFilters) -> None:
    """InvalidInput when the pipeline (and version) filter names none of the project's."""
    if f.pipeline_version is not None and f.pipeline is None:
        raise InvalidInput(
            "pipeline_version needs pipeline (the slug it is a version of)",
            field="pipeline_version",
        )
    if f.pipeline is None:
        return
    versions = [
        p.version for p in repos.pipelines.pipelines.facts(project_id).values()
        if p.slug == f.pipeline
    ]  # fmt: skip
    if not versions:
        raise InvalidInput(f"project {project_id} has no pipeline {f.pipeline!r}", field="pipeline")
    if f.pipeline_version is not None and f.pipeline_version not in versions:
        known = ", ".join(str(v) for v in sorted(versions))
        raise InvalidInput(
            f"pipeline {f.pipeline!r} has no version {f.pipeline_version} in project "
            f"{project_id} (versions: {known})",
            field="pipeline_version",
        )


#: The filters a table of counts takes (the others are of images and results).
_COUNTED = {"deployment_id", "date_from", "date_to", "pipeline"}
_RECORDS = {"min_delta_minutes", "delta_compared_to", "remove_duplicate_records"}
_HISTORY = {"taxon_id", "occasion_length", "day1", "output", "min_active_days", "include_effort"}
_OPERATION = {"empty_days", "setup_days"}
_TABLE_FILTERS = {
    ExportFormat.RECORD_TABLE: _COUNTED | _RECORDS,
    ExportFormat.CAMERA_OPERATION: {"deployment_id", "date_from", "date_to"} | _OPERATION,
    ExportFormat.DETECTION_HISTORY: _COUNTED | _RECORDS | _HISTORY | _OPERATION,
}
#: Filters only the tables take.
_TABLE_ONLY = _RECORDS | _HISTORY | _OPERATION


def check_table_filters(repos: Repos, project_id: int, fmt: ExportFormat, f: ExportFilters) -> None:
    """InvalidInput naming a filter a table export does not take or gets wrong: a pipeline
    the project cannot count by (its tables count one pipeline's occurrences), a detection
    history without a taxon of the project's list, occasions that do not fit."""
    for name in f.as_json():
        if name not in _TABLE_FILTERS[fmt]:
            raise InvalidInput(f"{name} does not apply to a {fmt.value} export", field=name)
    check_filters(repos, project_id, replace(f, pipeline=None))
    if f.pipeline is not None:
        check_pipeline(repos, project_id, f.pipeline, "pipeline")
    if fmt is ExportFormat.DETECTION_HISTORY:
        if f.taxon_id is None:
            raise InvalidInput("taxon_id: a detection-hist export needs a taxon", field="taxon_id")
        taxon_of_project(repos, project_id, f.taxon_id, "taxon_id")
        try:
            occasions_of(f)
        except ValueError as exc:  # its message starts with the setting it names
            raise InvalidInput(str(exc), field=str(exc).split()[0]) from None


def occasions_of(f: ExportFilters) -> Occasions:
    """A detection-hist export's occasions; ValueError names what does not fit."""
    return Occasions(
        f.occasion_length or 1,
        Day1(f.day1 or Day1.STATION.value),
        HistoryOutput(f.output or HistoryOutput.BINARY.value),
        f.min_active_days,
    )


def check_not_table_filters(f: ExportFilters) -> None:
    """InvalidInput naming a filter only the tables take, given to another format."""
    for name in f.as_json():
        if name in _TABLE_ONLY:
            raise InvalidInput(
                f"{name} goes only with the record-table, camera-operation and "
                "detection-hist exports",
                field=name,
            )


def list_exports(
    db: Database, caller: User, project_id: int, *, limit: int, offset: int
) -> tuple[int, list[Export]]:
    """A project's exports, newest first."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.exports.exports.page(project_id, limit=limit, offset=offset)


def get_export(db: Database, caller: User, export_id: int) -> Export:
    """An export the caller may see."""
    with db.read() as repos:
        return _visible(repos, caller, export_id, Role.VIEWER)


def download_url(
    db: Database, store: BlobStore, caller: User, export_id: int, *, expires_in: int
) -> str:
    """A signed URL of the export's file, valid until the sooner of ``expires_in`` seconds
    and the export's expiry."""
    export = get_export(db, caller, export_id)
    if export.status is not ExportStatus.SUCCEEDED or export.blob_key is None:
        raise Conflict(
            f"export {export_id} is {export.status.value}; "
            + (
                "download it once its status is succeeded"
                if not export.status.final
                else "create a new export"
            ),
            code="export_not_ready",
        )
    if export.expires_at is not None:
        left = int((export.expires_at - utcnow()).total_seconds())
        expires_in = max(1, min(expires_in, left))
    return store.signed_url(export.blob_key, expires_in=expires_in)


def cancel_export(db: Database, caller: User, export_id: int) -> Export:
    """Stop a queued or running export (its creator or a manager)."""
    with db.write() as repos:
        export = _own(repos, caller, export_id)
        if not repos.exports.exports.cancel(export_id, utcnow()):
            raise Conflict(
                f"export {export_id} is {export.status.value} already; only queued or running "
                "exports can be canceled",
                code="export_finished",
            )
        found = repos.exports.exports.get(export_id)
    assert found is not None
    return found


def get_own_export(db: Database, caller: User, export_id: int) -> Export:
    """An export the caller may cancel or delete (its creator or a manager)."""
    with db.read() as repos:
        return _own(repos, caller, export_id)


def delete_export(db: Database, store: BlobStore, caller: User, export_id: int) -> None:
    """Remove an export and its file (its creator or a manager); a running one stops."""
    with db.write() as repos:
        export = _own(repos, caller, export_id)
        repos.exports.exports.delete(export_id)
    if export.blob_key:
        store.delete(export.blob_key)


def _visible(repos: Repos, caller: User, export_id: int, needed: Role) -> Export:
    export = require(repos.exports.exports.get(export_id), "export", export_id)
    project_for(repos, caller, export.project_id, needed, asked=("export", export_id))
    return export


def _own(repos: Repos, caller: User, export_id: int) -> Export:
    export = _visible(repos, caller, export_id, Role.VIEWER)
    if export.created_by != caller.id:
        _, role = project_for(repos, caller, export.project_id, Role.VIEWER)
        if not role.allows(Role.MANAGER):
            raise PermissionDenied(
                f"export {export_id} was made by someone else; only its creator or a manager "
                "may cancel or delete it"
            )
    return export
