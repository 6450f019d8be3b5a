"""Exports: a project's images and results as CSV, COCO, MegaDetector JSON or Camtrap DP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from trapline.api.deps import CurrentUser, DatabaseDep, ExportRunnerDep, SettingsDep, StoreDep
from trapline.http.pagination import offset_page
from trapline.http.params import DEFAULT_LIMIT, Id, Limit, Offset
from trapline.http.urls import absolute_url
from trapline.schemas.common import ErrorOut
from trapline.schemas.exports import ExportIn, ExportOut
from trapline.services.exports import exports

router = APIRouter(tags=["exports"])


@router.post("/projects/{project_id}/exports", status_code=202)
def create_export(
    project_id: Id, body: ExportIn, caller: CurrentUser, db: DatabaseDep, runner: ExportRunnerDep
) -> ExportOut:
    """Start an export of the project (viewers too); poll it until ``status`` is succeeded."""
    made = exports.create_export(db, runner, caller, project_id, body.format, body.filters())
    return ExportOut.of(made)


@router.get("/projects/{project_id}/exports")
def list_exports(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """A project's exports, newest first."""
    total, found = exports.list_exports(db, caller, project_id, limit=limit, offset=offset)
    return offset_page(request, total, [ExportOut.of(e) for e in found], limit, offset)


@router.get("/exports/{export_id}")
def get_export(export_id: Id, caller: CurrentUser, db: DatabaseDep) -> ExportOut:
    """One export: status, progress, counts, problems met."""
    return ExportOut.of(exports.get_export(db, caller, export_id))


@router.get(
    "/exports/{export_id}/download",
    status_code=307,
    responses={409: {"model": ErrorOut, "description": "The export's file is not ready, or gone."}},
)
def download_export(
    export_id: Id, caller: CurrentUser, db: DatabaseDep, store: StoreDep, settings: SettingsDep
) -> RedirectResponse:
    """Redirect to a signed, expiring URL of the export's file."""
    url = exports.download_url(
        db, store, caller, export_id, expires_in=settings.storage.signed_url_ttl
    )
    return RedirectResponse(absolute_url(settings, url), status_code=307)


@router.post("/exports/{export_id}/cancel")
def cancel_export(export_id: Id, caller: CurrentUser, db: DatabaseDep) -> ExportOut:
    """Stop a queued or running export (its creator or a manager)."""
    return ExportOut.of(exports.cancel_export(db, caller, export_id))


@router.delete("/exports/{export_id}", status_code=204)
def delete_export(export_id: Id, caller: CurrentUser, db: DatabaseDep, store: StoreDep) -> Response:
    """Delete an export and its file (its creator or a manager)."""
    exports.delete_export(db, store, caller, export_id)
    return Response(status_code=204)
