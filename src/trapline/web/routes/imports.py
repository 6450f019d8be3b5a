"""Importing MegaDetector results made elsewhere (its own runner, AddaxAI, EcoAssist): a form
for the file, then what was matched and what was not. The same service as the API's
``POST /api/v2/projects/{id}/imports/megadetector``; members import.

The file is bounded here, as the taxa import's: an upload declaring more than an import reads
is refused before it is read, and a smaller one is measured again as it is read.
"""

from __future__ import annotations

import io

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from trapline.domain.core.roles import Role
from trapline.errors import InvalidInput, PayloadTooLarge
from trapline.exports.megadetector_import import MAX_IMPORT_BYTES
from trapline.http.params import Id
from trapline.services.exports import imports
from trapline.services.exports.imports import ImportReport
from trapline.services.photos import deployments, projects
from trapline.web.forms import MAX_NUMBER, MB, file_over_limit, form_id, typed_number
from trapline.web.pages import Page, SignedIn
from trapline.web.routes import page_router
from trapline.web.timeline import local_time

router = page_router()

#: The form's fields besides the file.
FIELDS = ("deployment", "threshold")


def _render(
    page: Page,
    project_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    report: ImportReport | None = None,
) -> Response:
    project, role = projects.get_project(page.db, page.me, project_id)
    _, found = deployments.list_deployments(page.db, page.me, project_id, limit=500, offset=0)
    events = (
        imports.imported_events(page.db, page.me, project_id, report.event_ids) if report else []
    )
    return page.render(
        "megadetector_import.html",
        status=status,
        project=project,
        role=role,
        may_import=role.allows(Role.MEMBER),
        deployments=found,
        deployment_names={d.id: d.name for d in found},
        errors=errors or {},
        values=values or {},
        report=report,
        events=events,
        max_mb=MAX_IMPORT_BYTES // MB,
        max_number=MAX_NUMBER,
        local_time=local_time,
    )


@router.get("/projects/{project_id}/imports/megadetector")
def import_form(page: SignedIn, project_id: Id) -> Response:
    """The form to import a MegaDetector results file into the project."""
    return _render(page, project_id)


@router.post("/projects/{project_id}/imports/megadetector")
async def import_file(page: SignedIn, project_id: Id) -> Response:
    """Import a MegaDetector results file: the page shows what matched and what did not."""
    problem = file_over_limit(
        page.request.headers,
        "a MegaDetector file",
        MAX_IMPORT_BYTES,
        "split it by folder and import the parts",
    )
    if problem:
        return await run_in_threadpool(
            _render, page, project_id, status=413, errors={"file": problem}
        )
    async with page.request.form(max_files=1, max_fields=len(FIELDS) + 2) as form:
        submitted = form.get("csrf")
        page.check_csrf(submitted if isinstance(submitted, str) else None)
        values = {k: str(form.get(k) or "") for k in FIELDS}
        errors, deployment_id, threshold = _checked(values)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            errors["file"] = "file: choose a MegaDetector results file (.json)"
        if errors:
            return await run_in_threadpool(
                _render, page, project_id, status=400, errors=errors, values=values
            )
        assert isinstance(upload, UploadFile)
        data = await upload.read(MAX_IMPORT_BYTES + 1)
    return await run_in_threadpool(
        _imported, page, project_id, data, deployment_id, threshold, values
    )


def _checked(values: dict[str, str]) -> tuple[dict[str, str], int | None, float | None]:
    """The form's fields checked: errors by field, the deployment and the threshold."""
    errors: dict[str, str] = {}
    deployment_id: int | None = None
    threshold: float | None = None
    if values["deployment"]:
        try:
            deployment_id = form_id(values["deployment"], "deployment")
        except InvalidInput as exc:
            errors["deployment"] = exc.detail
    try:
        threshold = typed_number(values, "threshold", 0, 1)
    except InvalidInput as exc:
        errors["threshold"] = exc.detail
    return errors, deployment_id, threshold


def _imported(
    page: Page,
    project_id: int,
    data: bytes,
    deployment_id: int | None,
    threshold: float | None,
    values: dict[str, str],
) -> Response:
    try:
        report = imports.import_megadetector(
            page.db,
            page.me,
            project_id,
            io.BytesIO(data),
            deployment_id=deployment_id,
            threshold=threshold,
        )
    except PayloadTooLarge as exc:
        errors = {"file": f"file: {exc.detail}"}
        return _render(page, project_id, status=413, errors=errors, values=values)
    except InvalidInput as exc:
        # What names no field of the form is wrong with the file.
        errors = {exc.field: exc.detail} if exc.field else {"file": f"file: {exc.detail}"}
        return _render(page, project_id, status=400, errors=errors, values=values)
    return _render(page, project_id, report=report, values=values)
