"""Importing a taxa file on the taxa page (managers): the rows' outcomes are shown, and a file
with any bad row is refused whole with the outcomes of its rows (those with a problem first).

The file is bounded here, not by a JSON route's body limit: an upload declaring more than a
taxa file may hold is refused before it is read.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from trapline.domain.taxa.taxa import RowOutcome, RowStatus
from trapline.domain.taxa.taxa_rows import MAX_TAXA_BYTES
from trapline.errors import InvalidInput, RejectedRows
from trapline.http.filenames import clean_filename
from trapline.http.params import Id
from trapline.services.taxa import taxa
from trapline.web.forms import file_over_limit
from trapline.web.pages import SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.taxa import render_taxa

router = page_router()


@router.post("/projects/{project_id}/taxa/import")
async def import_file(page: SignedIn, project_id: Id) -> Response:
    """Add or update the project's taxa from a file (CSV, Darwin Core checklist or archive)."""
    problem = file_over_limit(page.request.headers, "a taxa file", MAX_TAXA_BYTES, "split it")
    if problem:
        return await run_in_threadpool(
            render_taxa, page, project_id, status=413, import_error=problem
        )
    try:
        data, filename = await _posted_file(page)
        outcomes = await run_in_threadpool(
            taxa.import_taxa, page.db, page.me, project_id, data, filename
        )
    except RejectedRows as exc:
        rows = [_outcome(row) for row in exc.rows]
        return await run_in_threadpool(
            render_taxa, page, project_id, status=400, outcomes=rows,
            not_listed=exc.not_listed, refused=exc.detail,
        )  # fmt: skip
    except InvalidInput as exc:
        return await run_in_threadpool(
            render_taxa, page, project_id, status=400, import_error=exc.detail
        )
    return await run_in_threadpool(render_taxa, page, project_id, outcomes=outcomes)


async def _posted_file(page: SignedIn) -> tuple[bytes, str]:
    """The form's file (up to one byte over what a taxa file may hold, so that a larger one is
    refused by its size) and its name, once the form's CSRF token was checked."""
    async with page.request.form(max_files=1, max_fields=5) as form:
        submitted = form.get("csrf")
        page.check_csrf(submitted if isinstance(submitted, str) else None)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("file: choose a taxa file (CSV, Darwin Core checklist or DwC-A zip)")
        return await upload.read(MAX_TAXA_BYTES + 1), clean_filename(upload.filename)


def _outcome(row: dict[str, object]) -> RowOutcome:
    """A refused file's row, as the service describes it."""
    message = row.get("message")
    return RowOutcome(
        row=int(str(row["row"])),
        name=str(row["name"]),
        status=RowStatus(str(row["status"])),
        message=str(message) if message is not None else None,
    )
